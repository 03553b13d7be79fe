//! Shared test state: the real app, assembled by the composition root
//! (`agents_server::App`) over in-memory, SQLite or Postgres stores, with
//! the echo model and cheap password hashing; no network.

#![allow(dead_code)]

pub mod api;

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::auth::{Argon2Hasher, JwtConfig, JwtIssuer, JwtKeys};
use agents_adapters::limiter::InMemoryRateLimiter;
use agents_adapters::memory::ScriptedChatModel;
use agents_application::accounts::{AccountService, AccountSettings};
use agents_domain::clock::SystemClock;
use agents_domain::health::HealthProbe;
use agents_domain::llm::ChatModel;
use agents_http::AppState;
pub use agents_server::Stores;
use agents_server::config::{Secret, Settings};

/// Runs each named `scenarios::NAME(stores)` on every store: one module per
/// backend (memory, sqlite, postgres), one test per scenario. Postgres
/// scenarios skip when it is unreachable, unless `REQUIRE_POSTGRES=1`.
#[allow(unused_macros)]
macro_rules! on_every_store {
    ($($scenario:ident),+ $(,)?) => {
        on_every_store!(@backend memory, Some(support::memory_stores()), $($scenario),+);
        on_every_store!(@backend sqlite, Some(support::sqlite_stores().await), $($scenario),+);
        on_every_store!(@backend postgres, support::postgres_stores().await, $($scenario),+);
    };
    (@backend $backend:ident, $stores:expr, $($scenario:ident),+) => {
        mod $backend {
            use super::*;
            $(
                #[actix_web::test]
                async fn $scenario() {
                    if let Some(stores) = $stores {
                        scenarios::$scenario(stores).await
                    }
                }
            )+
        }
    };
}

pub const TEST_SECRET: &str = "http-tests-secret-key-0123456789abcdef";

pub fn memory_stores() -> Stores {
    Stores::in_memory()
}

pub async fn sqlite_stores() -> Stores {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let stores = Stores::open(&url).await.expect("sqlite opens and migrates");
    stores.keeping(dir)
}

/// Postgres stores on a fresh database, or `None` (skip) when Postgres is
/// unreachable and not required.
pub async fn postgres_stores() -> Option<Stores> {
    let database = agents_e2e::postgres::TestDatabase::create().await?;
    let stores = Stores::open(&database.url)
        .await
        .expect("postgres opens and migrates");
    Some(stores.keeping(database))
}

/// The settings every test app starts from: a fixed HS256 key, five login
/// failures per minute, a short health timeout.
pub fn settings() -> Settings {
    Settings {
        app_name: "Test Agents".into(),
        app_description: "test".into(),
        app_version: "9.9.9".into(),
        secret_key: Some(Secret::new(TEST_SECRET)),
        login_max_failures: 5,
        login_window_seconds: 60,
        database_health_timeout: 0.1,
        ..Settings::default()
    }
}

pub fn jwt() -> JwtIssuer {
    JwtIssuer::new(JwtConfig {
        keys: JwtKeys::Hs256(TEST_SECRET.as_bytes().to_vec()),
        issuer: "anything-agents".into(),
        audience: "anything-agents-api".into(),
        lifetime_seconds: 1800,
        leeway_seconds: 5,
    })
    .expect("jwt keys")
}

fn cheap_hasher() -> Argon2Hasher {
    // Cheap Argon2 parameters: the tests exercise the flow, not the cost.
    let params = argon2::Params::new(1024, 1, 1, None).expect("argon2 params");
    Argon2Hasher::with_params(params, 2).expect("hasher")
}

/// The app of `settings` over `stores` with `model` (`None`: no provider).
pub async fn app_with(
    settings: &Settings,
    stores: &Stores,
    model: Option<Arc<dyn ChatModel>>,
) -> AppState {
    let app = agents_server::App::builder(settings)
        .stores(stores.clone())
        .chat_model(model)
        .password_hasher(Arc::new(cheap_hasher()))
        .rate_limiter(Arc::new(InMemoryRateLimiter::new()))
        .build()
        .await
        .expect("the test app builds");
    let mut state = app.state;
    state.stream_keep_alive = Duration::from_millis(200);
    state
}

pub async fn state_on(stores: &Stores, probe: Option<Arc<dyn HealthProbe>>) -> AppState {
    state_with_model(stores, probe, Some(Arc::new(ScriptedChatModel::echo()))).await
}

/// The app over `stores` with `model` (`None`: no provider configured).
pub async fn state_with_model(
    stores: &Stores,
    probe: Option<Arc<dyn HealthProbe>>,
    model: Option<Arc<dyn ChatModel>>,
) -> AppState {
    let mut stores = stores.clone();
    stores.probe = probe;
    app_with(&settings(), &stores, model).await
}

/// The account use cases over `stores` with `settings`, an in-process
/// limiter and cheap password hashing.
pub fn account_service(stores: &Stores, settings: AccountSettings) -> AccountService {
    AccountService::new(
        stores.accounts.clone(),
        stores.refresh_tokens.clone(),
        Arc::new(cheap_hasher()),
        Arc::new(jwt()),
        Arc::new(InMemoryRateLimiter::new()),
        Arc::new(SystemClock),
        settings,
    )
}

pub async fn state_with_probe(probe: Option<Arc<dyn HealthProbe>>) -> AppState {
    state_on(&memory_stores(), probe).await
}

pub async fn state() -> AppState {
    state_with_probe(None).await
}

/// A response header as text ("" when absent).
pub fn header<B>(res: &actix_web::dev::ServiceResponse<B>, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Billing on over `stores`, on the local gateway (no processor), webhooks
/// signed with `whsec_test`.
pub async fn billing_state(stores: &Stores) -> AppState {
    billing_state_signed(stores, "whsec_test").await
}

/// Billing on over `stores`, webhooks signed with `webhook_secret`.
pub async fn billing_state_signed(stores: &Stores, webhook_secret: &str) -> AppState {
    let echo = Arc::new(ScriptedChatModel::echo());
    app_with(&billing_settings(webhook_secret), stores, Some(echo)).await
}

/// The test settings with billing on (local gateway), webhooks signed
/// with `webhook_secret`; chat runs behind the plan's turn guard.
pub fn billing_settings(webhook_secret: &str) -> Settings {
    Settings {
        enable_billing: true,
        stripe_webhook_secret: Some(Secret::new(webhook_secret)),
        ..settings()
    }
}
