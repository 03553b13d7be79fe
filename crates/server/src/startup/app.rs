//! [`App`]: every service built once from the settings, each dependency
//! connected once, for the binary, the tests and embedders alike.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::auth::{Argon2Hasher, JwtConfig, JwtIssuer, Sha256KeyMaterial};
use agents_application::accounts::{AccountService, AccountSettings};
use agents_application::agents::AgentService;
use agents_application::api_keys::{ApiKeyService, KeyBudget};
use agents_application::chat::{ChatRateLimits, ChatService, ChatSettings};
use agents_application::conversations::ConversationService;
use agents_application::health::HealthService;
use agents_application::runs::RunService;
use agents_application::runtime::{AgentRuntime, RuntimeSettings};
use agents_application::tools::{
    CurrentTimeTool, MeteredTool, SearchConversationsTool, Tool, ToolRegistry, WebSearchTool,
};
use agents_domain::account::PasswordHasher;
use agents_domain::clock::{Clock, SystemClock};
use agents_domain::limiter::RateLimiter;
use agents_domain::llm::ChatModel;
use agents_domain::search::WebSearch;
use agents_http::cors::CorsSettings;
use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
use agents_http::telemetry::CountedLimiter;
use agents_http::{AppInfo, AppState, HttpSettings};

use super::runs::RunLifecycle;
use super::services::{
    agent_catalog, billing_service, billing_turn_guard, chat_model, limiter, trusted_proxies,
    web_search,
};
use super::{StartupError, secrets, stores::Stores};
use crate::config::Settings;

/// The assembled service: the HTTP state, the HTTP settings (request rate
/// limits over the same limiter as the services) and the stores under them.
pub struct App {
    /// What handlers reach.
    pub state: AppState,
    /// Body size, CORS, workers, shutdown, request rate limits (no metrics:
    /// the process-wide recorder is installed by the server only).
    pub http: HttpSettings,
    /// The stores, kept for shutdown and for tests that look underneath.
    pub stores: Stores,
    /// `in-process` or `redis`, for the start-up log.
    pub limiter_name: &'static str,
    /// `in-process` or `redis`: where run events and cancels travel.
    pub run_bus_name: &'static str,
    /// This process's runs (drained at shutdown).
    pub runs: RunLifecycle,
}

impl App {
    /// Builds everything the settings describe.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        Self::builder(settings).build().await
    }

    /// A builder that lets tests and embedders replace single parts.
    pub fn builder(settings: &Settings) -> AppBuilder<'_> {
        AppBuilder {
            settings,
            stores: None,
            model: None,
            hasher: None,
            limiter: None,
            web_search: None,
            tools: Vec::new(),
            runs_runtime: None,
        }
    }
}

/// Builds an [`App`]; each part left unset comes from the settings.
pub struct AppBuilder<'a> {
    settings: &'a Settings,
    stores: Option<Stores>,
    model: Option<Option<Arc<dyn ChatModel>>>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    web_search: Option<Arc<dyn WebSearch>>,
    tools: Vec<Arc<dyn Tool>>,
    runs_runtime: Option<tokio::runtime::Handle>,
}

impl AppBuilder<'_> {
    /// Runs on `stores` instead of the configured ones.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Uses `model` (`None`: no provider, chat answers 503).
    pub fn chat_model(mut self, model: Option<Arc<dyn ChatModel>>) -> Self {
        self.model = Some(model);
        self
    }

    /// Hashes passwords with `hasher` (tests use cheap parameters).
    pub fn password_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// Counts every budget in `limiter` instead of the configured one.
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Searches the web with `search` instead of the configured provider.
    pub fn web_search(mut self, search: Arc<dyn WebSearch>) -> Self {
        self.web_search = Some(search);
        self
    }

    /// Registers one more tool agents may be configured with.
    pub fn tool(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.push(tool);
        self
    }

    /// Executes runs on `runtime` (one that outlives the HTTP workers)
    /// instead of the runtime of the request that starts them.
    pub fn runs_runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.runs_runtime = Some(runtime);
        self
    }

    /// Opens and connects what is missing, then assembles the services.
    pub async fn build(self) -> Result<App, StartupError> {
        let settings = self.settings;
        let stores = match self.stores {
            Some(stores) => stores,
            None => Stores::configured(settings).await?,
        };
        let (limiter, limiter_name) = match self.limiter {
            Some(limiter) => (limiter, "custom"),
            None => limiter(settings).await?,
        };
        let model = match self.model {
            Some(model) => model,
            None => chat_model(settings)?,
        };
        let hasher: Arc<dyn PasswordHasher> = match self.hasher {
            Some(hasher) => hasher,
            None => {
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                Arc::new(Argon2Hasher::new(cores).map_err(|e| StartupError::Config(e.to_string()))?)
            }
        };
        let search = match self.web_search {
            Some(search) => Some(search),
            None => web_search(settings)?,
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut tools = ToolRegistry::new();
        tools
            .register(MeteredTool::wrap(Arc::new(CurrentTimeTool::new(
                clock.clone(),
            ))))
            .register(MeteredTool::wrap(Arc::new(SearchConversationsTool::new(
                stores.conversations.clone(),
            ))))
            .register(MeteredTool::wrap(Arc::new(WebSearchTool::new(search))));
        for tool in self.tools {
            tools.register(MeteredTool::wrap(tool));
        }
        let agents = Arc::new(agent_catalog(settings, &tools)?);
        let tools = Arc::new(tools);
        let runtime_settings = RuntimeSettings {
            default_model: settings.openai_model.clone(),
            max_turns: settings.agent_max_turns,
            ..RuntimeSettings::default()
        };
        let runtime = match model {
            Some(model) => {
                AgentRuntime::new(model, agents.clone(), tools.clone(), runtime_settings)
            }
            None => AgentRuntime::without_model(agents.clone(), tools.clone(), runtime_settings),
        };
        let chat = ChatService::new(
            Arc::new(runtime),
            stores.conversations.clone(),
            clock.clone(),
            ChatSettings {
                history_messages: u64::from(settings.chat_history_messages),
                ..ChatSettings::default()
            },
        );
        let (tracking, runs, run_bus_name) = super::runs::tracking(
            settings,
            stores.runs.clone(),
            clock.clone(),
            self.runs_runtime,
        )
        .await?;
        let chat = chat.with_runs(tracking.clone());
        let run_service = RunService::new(tracking, stores.conversations.clone(), clock.clone());
        let billing = billing_service(settings, &stores, clock.clone()).await?;
        let chat = match &billing {
            Some(billing) => chat.with_turn_guard(billing_turn_guard(billing)),
            None => chat,
        }
        .with_key_budget(KeyBudget::new(stores.api_keys.clone(), clock.clone()));
        // Limits checked below HTTP fail open; the wrapper still counts
        // the limiter's failures in the metrics.
        let counted_limiter = CountedLimiter::wrap(limiter.clone());
        let chat = chat.with_rate_limit(counted_limiter.clone(), chat_rate_limits(settings));
        // Keys' rate limits count in the same limiter as every other budget.
        let api_keys = ApiKeyService::new(
            stores.api_keys.clone(),
            Arc::new(Sha256KeyMaterial),
            counted_limiter,
            clock.clone(),
        );
        let accounts = AccountService::new(
            stores.accounts.clone(),
            stores.refresh_tokens.clone(),
            hasher,
            Arc::new(token_issuer(settings)?),
            limiter.clone(),
            clock,
            account_settings(settings),
        );
        let health_timeout = Duration::from_secs_f64(settings.database_health_timeout);
        let state = AppState {
            info: Arc::new(AppInfo {
                name: settings.app_name.clone(),
                description: settings.app_description.clone(),
                version: settings.app_version.clone(),
            }),
            health: Arc::new(HealthService::new(stores.probe.clone(), health_timeout)),
            agent_status: Arc::new(AgentService::new(
                agents.clone(),
                stores.conversations.clone(),
            )),
            tools,
            accounts: Arc::new(accounts),
            api_keys: Arc::new(api_keys),
            trusted_proxies: trusted_proxies(settings)?,
            chat: Arc::new(chat),
            conversations: Arc::new(ConversationService::new(stores.conversations.clone())),
            stream_keep_alive: Duration::from_secs(15),
            billing,
            runs: Some(Arc::new(run_service)),
        };
        let http = HttpSettings {
            max_body_bytes: settings.max_body_bytes,
            cors: CorsSettings {
                origins: settings.allowed_origins.clone(),
                methods: settings.allowed_methods.clone(),
                headers: settings.allowed_headers.clone(),
            },
            workers: settings.workers,
            shutdown_timeout_secs: settings.shutdown_timeout,
            // `RATE_LIMIT_ANON_PER_MINUTE`, in the limiter login throttling
            // and chat admission use: one Redis connection.
            rate_limits: RateLimitPolicy::new(
                limiter,
                RateLimits {
                    anon_per_minute: settings.rate_limit_anon_per_minute,
                },
            ),
            metrics: None,
            handle_signals: true,
        };
        Ok(App {
            state,
            http,
            stores,
            limiter_name,
            run_bus_name,
            runs,
        })
    }
}

/// `RATE_LIMIT_CHAT_PER_MINUTE`, and each plan's `chat_per_minute` when
/// billing is on (without billing there are no plans).
fn chat_rate_limits(settings: &Settings) -> ChatRateLimits {
    let per_plan = settings
        .plans
        .iter()
        .filter(|_| settings.enable_billing)
        .filter_map(|(code, plan)| plan.chat_per_minute.map(|limit| (code.clone(), limit)))
        .collect();
    ChatRateLimits {
        per_minute: settings.rate_limit_chat_per_minute,
        per_plan,
    }
}

fn token_issuer(settings: &Settings) -> Result<JwtIssuer, StartupError> {
    JwtIssuer::new(JwtConfig {
        keys: secrets::signing_keys(settings)?,
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
        lifetime_seconds: i64::from(settings.access_token_expire_minutes) * 60,
        leeway_seconds: 30,
    })
    .map_err(|e| StartupError::Config(e.to_string()))
}

fn account_settings(settings: &Settings) -> AccountSettings {
    let days = |d: u32| Duration::from_secs(u64::from(d) * 24 * 3600);
    AccountSettings {
        refresh_token_ttl: days(settings.refresh_token_expire_days),
        login_max_failures: settings.login_max_failures,
        login_window: Duration::from_secs(settings.login_window_seconds),
        max_tenants_per_user: settings.max_tenants_per_user,
        tenant_creates_per_hour: settings.rate_limit_tenant_create_per_hour,
        login_known_address_ttl: days(settings.login_known_address_days),
        refresh_reuse_grace: Duration::from_secs(u64::from(settings.refresh_token_grace_seconds)),
    }
}
