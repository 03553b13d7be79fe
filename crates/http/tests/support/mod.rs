//! Shared test state: the real app over real adapters (in-memory, SQLite
//! or Postgres stores), no network.

#![allow(dead_code)]

pub mod api;

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::auth::{Argon2Hasher, JwtConfig, JwtIssuer, JwtKeys};
use agents_adapters::limiter::InMemoryRateLimiter;
use agents_adapters::memory::{
    InMemoryAccountStore, InMemoryConversationStore, InMemoryRefreshTokenStore, InMemoryRunStore,
    ScriptedChatModel,
};
use agents_adapters::runs::InProcessRunBus;
use agents_adapters::sql::{PoolOptions, SqlStores, connect};
use agents_application::accounts::{AccountService, AccountSettings};
use agents_application::agents::{AgentCatalog, AgentService};
use agents_application::chat::{ChatService, ChatSettings};
use agents_application::conversations::ConversationService;
use agents_application::health::HealthService;
use agents_application::runs::{RunRegistry, RunService, RunSettings, RunTracking};
use agents_application::runtime::{AgentRuntime, RuntimeSettings};
use agents_application::tools::{
    CurrentTimeTool, SearchConversationsTool, ToolRegistry, WebSearchTool,
};
use agents_domain::account::{AccountStore, RefreshTokenStore};
use agents_domain::clock::SystemClock;
use agents_domain::conversation::ConversationStore;
use agents_domain::health::HealthProbe;
use agents_domain::llm::ChatModel;
use agents_domain::run::RunStore;
use agents_http::extract::TrustedProxies;
use agents_http::{AppInfo, AppState};

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

/// The stores a test app runs on.
pub struct Stores {
    pub conversations: Arc<dyn ConversationStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// Plans, subscriptions, usage.
    pub billing: Arc<dyn agents_domain::billing::BillingStore>,
    /// Run rows.
    pub runs: Arc<dyn RunStore>,
    /// Keeps a temp dir or a Postgres database alive for the test.
    pub guard: Option<Box<dyn std::any::Any + Send>>,
}

pub fn memory_stores() -> Stores {
    Stores {
        conversations: Arc::new(InMemoryConversationStore::new()),
        accounts: Arc::new(InMemoryAccountStore::new()),
        refresh_tokens: Arc::new(InMemoryRefreshTokenStore::new()),
        billing: Arc::new(agents_adapters::memory::InMemoryBillingStore::new()),
        runs: Arc::new(InMemoryRunStore::new()),
        guard: None,
    }
}

fn from_sql(stores: SqlStores, guard: Box<dyn std::any::Any + Send>) -> Stores {
    Stores {
        conversations: stores.conversations,
        accounts: stores.accounts,
        refresh_tokens: stores.refresh_tokens,
        billing: stores.billing,
        runs: stores.runs,
        guard: Some(guard),
    }
}

pub async fn sqlite_stores() -> Stores {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let db = connect(&url, &PoolOptions::default())
        .await
        .expect("sqlite opens");
    db.migrate().await.expect("sqlite migrates");
    from_sql(db.stores(), Box::new((dir, db)))
}

/// Postgres stores on a fresh database, or `None` (skip) when Postgres is
/// unreachable and not required.
pub async fn postgres_stores() -> Option<Stores> {
    let database = agents_e2e::postgres::TestDatabase::create().await?;
    let db = connect(&database.url, &PoolOptions::default())
        .await
        .expect("postgres opens");
    db.migrate().await.expect("postgres migrates");
    Some(from_sql(db.stores(), Box::new((database, db))))
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

pub fn state_on(stores: &Stores, probe: Option<Arc<dyn HealthProbe>>) -> AppState {
    state_with_model(stores, probe, Some(Arc::new(ScriptedChatModel::echo())))
}

/// The app over `stores` with `model` (`None`: no provider configured).
pub fn state_with_model(
    stores: &Stores,
    probe: Option<Arc<dyn HealthProbe>>,
    model: Option<Arc<dyn ChatModel>>,
) -> AppState {
    let mut tools = ToolRegistry::new();
    tools
        .register(Arc::new(CurrentTimeTool::new(Arc::new(SystemClock))))
        .register(Arc::new(SearchConversationsTool::new(
            stores.conversations.clone(),
        )))
        .register(Arc::new(WebSearchTool::new(None)));
    let agents =
        Arc::new(AgentCatalog::new(vec![], &tools.names()).expect("built-in catalog is valid"));
    let tools = Arc::new(tools);
    let runtime = match model {
        Some(model) => AgentRuntime::new(
            model,
            agents.clone(),
            tools.clone(),
            RuntimeSettings::default(),
        ),
        None => {
            AgentRuntime::without_model(agents.clone(), tools.clone(), RuntimeSettings::default())
        }
    };
    let tracking = RunTracking {
        store: stores.runs.clone(),
        bus: Arc::new(InProcessRunBus::new()),
        encoder: Arc::new(agents_http::SseEncoder),
        registry: Arc::new(RunRegistry::new()),
        settings: RunSettings::default(),
        runtime: None,
    };
    let chat = ChatService::new(
        Arc::new(runtime),
        stores.conversations.clone(),
        Arc::new(SystemClock),
        ChatSettings::default(),
    )
    .with_runs(tracking.clone());
    let runs = RunService::new(
        tracking,
        stores.conversations.clone(),
        Arc::new(SystemClock),
    );
    let accounts = account_service(
        stores,
        AccountSettings {
            login_max_failures: 5,
            login_window: Duration::from_secs(60),
            ..Default::default()
        },
    );
    AppState {
        info: Arc::new(AppInfo {
            name: "Test Agents".into(),
            description: "test".into(),
            version: "9.9.9".into(),
        }),
        health: Arc::new(HealthService::new(probe, Duration::from_millis(100))),
        agent_status: Arc::new(AgentService::new(
            agents.clone(),
            stores.conversations.clone(),
        )),
        tools,
        accounts: Arc::new(accounts),
        trusted_proxies: TrustedProxies::default(),
        chat: Arc::new(chat),
        conversations: Arc::new(ConversationService::new(stores.conversations.clone())),
        stream_keep_alive: Duration::from_millis(200),
        billing: None,
        runs: Some(Arc::new(runs)),
        chat_plan_limits: Arc::default(),
    }
}

/// The account use cases over `stores` with `settings`, an in-process
/// limiter and cheap password hashing.
pub fn account_service(stores: &Stores, settings: AccountSettings) -> AccountService {
    // Cheap Argon2 parameters: the tests exercise the flow, not the cost.
    let params = argon2::Params::new(1024, 1, 1, None).expect("argon2 params");
    let hasher = Argon2Hasher::with_params(params, 2).expect("hasher");
    AccountService::new(
        stores.accounts.clone(),
        stores.refresh_tokens.clone(),
        Arc::new(hasher),
        Arc::new(jwt()),
        Arc::new(InMemoryRateLimiter::new()),
        Arc::new(SystemClock),
        settings,
    )
}

pub fn state_with_probe(probe: Option<Arc<dyn HealthProbe>>) -> AppState {
    state_on(&memory_stores(), probe)
}

pub fn state() -> AppState {
    state_with_probe(None)
}

/// A response header as text ("" when absent).
pub fn header<B>(res: &actix_web::dev::ServiceResponse<B>, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `state` with billing on over `stores`, on the local gateway (no
/// processor), webhooks signed with `whsec_test`.
pub fn with_billing(mut state: AppState, stores: &Stores) -> AppState {
    use agents_adapters::payments::{LocalGateway, StripeWebhookVerifier};
    use agents_application::billing::{BillingService, BillingSettings};
    let clock = Arc::new(SystemClock);
    let billing = BillingService::new(
        stores.billing.clone(),
        Arc::new(LocalGateway::new(clock.clone())),
        clock,
        BillingSettings::default(),
    )
    .with_webhooks(Arc::new(StripeWebhookVerifier::new("whsec_test")));
    state.billing = Some(Arc::new(billing));
    state
}
