//! The app builder shared by `main`, the tests and embedders, and `serve`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};

use crate::cors::{CorsSettings, cors};
use crate::error::{ErrorEnvelope, json_config, path_config, query_config};
use crate::middleware::{error_envelope, request_context};
use crate::ratelimit::RateLimitPolicy;
use crate::routes::fallback::{RouteTable, not_matched};
use crate::routes::openapi::{self, OpenApiDoc};
use crate::routes::{agents, auth, chat, conversations, health, root, runs, tenants, tools};
use crate::state::AppState;
use crate::telemetry::{MetricsEndpoint, metrics_handler};

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// CORS policy.
    pub cors: CorsSettings,
    /// Worker threads; `None` uses one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
    /// Per-address and per-tenant request limits (default: none).
    pub rate_limits: RateLimitPolicy,
    /// What `/metrics` renders; `None` answers 404.
    pub metrics: Option<MetricsEndpoint>,
    /// Whether the server stops itself on SIGINT/SIGTERM (off when the
    /// caller drains runs first and stops it through its handle).
    pub handle_signals: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            cors: CorsSettings {
                origins: vec!["*".into()],
                methods: vec!["*".into()],
                headers: vec!["*".into()],
            },
            workers: None,
            shutdown_timeout_secs: 30,
            rate_limits: RateLimitPolicy::default(),
            metrics: None,
            handle_signals: true,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Agents service API", description = "Multi-tenant AI agents: chat, tools, handoffs, history, billing."),
    components(schemas(ErrorEnvelope)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "tenants", description = "Tenants and members"),
        (name = "api-keys", description = "Tenant API keys for back ends and scripts"),
        (name = "chat", description = "Chat with agents, plain or streamed"),
        (name = "conversations", description = "Conversation history"),
        (name = "health", description = "Probes"),
        (name = "meta", description = "Service directory"),
        (name = "agents", description = "Agents and tools"),
        (name = "billing", description = "Plans, subscriptions, usage and the Stripe webhook (when billing is enabled)"),
    )
)]
struct BaseDoc;

/// Declares the bearer-token security scheme used by authenticated routes.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT access token, or an API key (`agk_...`) on the routes its scopes open",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-API-Key",
                    "A tenant API key (`agk_...`); also accepted as `Authorization: Bearer agk_...`",
                ),
            )),
        );
    }
}

/// Builds the application: routes, extractor configuration, the OpenAPI
/// document, and the middleware stack.
pub fn build_app(
    state: AppState,
    settings: HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let billing = state.billing.clone();
    let billing_enabled = billing.is_some();
    let mut base = BaseDoc::openapi();
    base.info.version = state.info.version.clone();
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(base)
        .app_data(web::Data::new(state))
        .app_data(json_config(settings.max_body_bytes))
        .app_data(web::PayloadConfig::new(settings.max_body_bytes))
        .app_data(path_config())
        .app_data(query_config())
        .configure(root::configure)
        .configure(crate::routes::console::configure)
        .configure(health::configure)
        .service(metrics_handler)
        .service(openapi::openapi_json)
        .service(openapi::docs)
        .service(
            scope::scope("/api/v1")
                .configure(auth::configure)
                .configure(tenants::configure)
                .configure(crate::routes::api_keys::configure)
                .configure(chat::configure)
                .configure(runs::configure)
                .configure(conversations::configure)
                .configure(agents::configure)
                .configure(tools::configure)
                .configure(|cfg| {
                    if billing_enabled {
                        crate::routes::billing::configure(cfg);
                    }
                }),
        )
        .split_for_parts();
    let table = RouteTable::from_openapi(&doc);
    let doc = openapi::complete(&doc);
    let app = match settings.metrics {
        Some(metrics) => app.app_data(web::Data::new(metrics)),
        None => app,
    };
    // The billing routes' state exists only when they are mounted.
    let app = match billing {
        Some(billing) => app.app_data(web::Data::from(billing)),
        None => app,
    };
    app.app_data(web::Data::new(OpenApiDoc(Arc::new(doc))))
        .app_data(web::Data::new(table))
        .app_data(web::Data::new(settings.rate_limits))
        .service(openapi::swagger_ui())
        .default_service(web::to(not_matched))
        .wrap(cors(&settings.cors))
        .wrap(from_fn(error_envelope))
        .wrap(from_fn(request_context))
}

/// Starts serving on `listener`. The returned server stops gracefully on
/// SIGINT/SIGTERM, giving in-flight requests `shutdown_timeout_secs`.
pub fn serve(
    listener: TcpListener,
    state: AppState,
    settings: HttpSettings,
) -> std::io::Result<Server> {
    let settings = Arc::new(settings);
    let factory_settings = Arc::clone(&settings);
    let mut server =
        HttpServer::new(move || build_app(state.clone(), factory_settings.as_ref().clone()))
            .shutdown_timeout(settings.shutdown_timeout_secs)
            .listen(listener)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    if !settings.handle_signals {
        server = server.disable_signals();
    }
    Ok(server.run())
}
