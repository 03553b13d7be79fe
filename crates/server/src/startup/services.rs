//! Building the application services and the HTTP state from the stores.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::auth::{Argon2Hasher, JwtConfig, JwtIssuer};
use agents_adapters::limiter::{InMemoryRateLimiter, RedisRateLimiter};
use agents_adapters::openai::{OpenAiChatModel, OpenAiSettings, TokenLimitField};
use agents_adapters::tavily::{TavilySearch, TavilySettings};
use agents_application::accounts::{AccountService, AccountSettings};
use agents_application::agents::{AgentCatalog, AgentDefinition, AgentService};
use agents_application::chat::{ChatService, ChatSettings};
use agents_application::conversations::ConversationService;
use agents_application::health::HealthService;
use agents_application::runs::RunService;
use agents_application::runtime::{AgentRuntime, RuntimeSettings};
use agents_application::tools::{
    CurrentTimeTool, SearchConversationsTool, ToolRegistry, WebSearchTool,
};
use agents_domain::clock::{Clock, SystemClock};
use agents_domain::limiter::RateLimiter;
use agents_domain::llm::ChatModel;
use agents_domain::search::WebSearch;
use agents_http::extract::TrustedProxies;
use agents_http::telemetry::MeteredTool;
use agents_http::{AppInfo, AppState};

use super::{StartupError, secrets, stores::Stores};
use crate::config::{MaxTokensField, Settings};

mod billing;

pub use billing::{billing_service, billing_turn_guard};

/// What the server runs.
pub struct Services {
    /// The HTTP state.
    pub state: AppState,
    /// `in-process` or `redis`, for the start-up log.
    pub limiter_name: &'static str,
    /// `in-process` or `redis`: where run events and cancels travel.
    pub run_bus_name: &'static str,
    /// This process's runs (drained at shutdown).
    pub runs: super::runs::RunLifecycle,
}

fn agent_catalog(settings: &Settings, tools: &ToolRegistry) -> Result<AgentCatalog, StartupError> {
    let configured: Vec<AgentDefinition> = settings
        .agents
        .iter()
        .map(|(name, a)| AgentDefinition {
            name: name.clone(),
            description: a.description.clone(),
            instructions: a.instructions.clone(),
            model: a.model.clone(),
            tools: a.tools.clone(),
            handoffs: a.handoffs.clone(),
        })
        .collect();
    AgentCatalog::new(configured, &tools.names())
        .map_err(|e| StartupError::Config(format!("agents: {e}")))
}

fn trusted_proxies(settings: &Settings) -> Result<TrustedProxies, StartupError> {
    settings
        .trusted_proxies
        .iter()
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    StartupError::Config(format!(
                        "TRUSTED_PROXIES: `{entry}` is not a CIDR or an IP address"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedProxies)
}

/// The configured model provider: an API key, or a non-default base URL
/// (local OpenAI-compatible servers need no key). `None` makes chat answer
/// 503 `llm_unavailable`.
fn chat_model(settings: &Settings) -> Result<Option<Arc<dyn ChatModel>>, StartupError> {
    let key = settings
        .openai_api_key
        .as_ref()
        .map(|k| k.expose().to_owned())
        .unwrap_or_default();
    let custom_url = settings.openai_base_url.trim_end_matches('/') != "https://api.openai.com/v1";
    if key.is_empty() && !custom_url {
        tracing::warn!("no OPENAI_API_KEY: chat will answer 503 llm_unavailable");
        return Ok(None);
    }
    let mut options = OpenAiSettings::new(settings.openai_base_url.clone(), key);
    options.timeout = Duration::from_secs_f64(settings.llm_timeout);
    options.retry.max_retries = settings.llm_max_retries;
    options.token_limit_field = match settings.openai_max_tokens_field {
        MaxTokensField::MaxCompletionTokens => TokenLimitField::MaxCompletionTokens,
        MaxTokensField::MaxTokens => TokenLimitField::MaxTokens,
    };
    let model = OpenAiChatModel::new(options)
        .map_err(|e| StartupError::Config(format!("OPENAI_BASE_URL: {e}")))?;
    Ok(Some(Arc::new(model)))
}

fn web_search(settings: &Settings) -> Result<Option<Arc<dyn WebSearch>>, StartupError> {
    let Some(key) = settings.tavily_api_key.as_ref() else {
        return Ok(None);
    };
    let mut options = TavilySettings::new(key.expose().to_owned());
    options.base_url = settings.tavily_base_url.clone();
    let search = TavilySearch::new(options)
        .map_err(|e| StartupError::Config(format!("TAVILY_BASE_URL: {e}")))?;
    Ok(Some(Arc::new(search)))
}

/// The limiter the server's budgets are counted in: Redis when
/// `REDIS_URL` is set (shared by replicas), else in process.
pub(crate) async fn limiter(
    settings: &Settings,
) -> Result<(Arc<dyn RateLimiter>, &'static str), StartupError> {
    match &settings.redis_url {
        Some(url) => {
            let redis = RedisRateLimiter::connect(url.expose())
                .await
                .map_err(|e| StartupError::Store(format!("REDIS_URL: {e}")))?;
            Ok((Arc::new(redis), "redis"))
        }
        None => Ok((Arc::new(InMemoryRateLimiter::new()), "in-process")),
    }
}

/// Builds every service over `stores`.
pub async fn build_services(
    settings: &Settings,
    stores: &Stores,
    runs_runtime: Option<tokio::runtime::Handle>,
) -> Result<Services, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut tools = ToolRegistry::new();
    tools
        .register(MeteredTool::wrap(Arc::new(CurrentTimeTool::new(
            clock.clone(),
        ))))
        .register(MeteredTool::wrap(Arc::new(SearchConversationsTool::new(
            stores.conversations.clone(),
        ))))
        .register(MeteredTool::wrap(Arc::new(WebSearchTool::new(web_search(
            settings,
        )?))));
    let agents = Arc::new(agent_catalog(settings, &tools)?);
    let tools = Arc::new(tools);
    let runtime_settings = RuntimeSettings {
        default_model: settings.openai_model.clone(),
        max_turns: settings.agent_max_turns,
        ..RuntimeSettings::default()
    };
    let runtime = match chat_model(settings)? {
        Some(model) => AgentRuntime::new(model, agents.clone(), tools.clone(), runtime_settings),
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
    let (tracking, runs, run_bus_name) =
        super::runs::tracking(settings, stores.runs.clone(), clock.clone(), runs_runtime).await?;
    let chat = chat.with_runs(tracking.clone());
    let run_service = RunService::new(tracking, stores.conversations.clone(), clock.clone());
    let billing = billing_service(settings, stores, clock.clone()).await?;
    let chat = match &billing {
        Some(billing) => chat.with_turn_guard(billing_turn_guard(billing)),
        None => chat,
    };

    let issuer = JwtIssuer::new(JwtConfig {
        keys: secrets::signing_keys(settings)?,
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
        lifetime_seconds: i64::from(settings.access_token_expire_minutes) * 60,
        leeway_seconds: 30,
    })
    .map_err(|e| StartupError::Config(e.to_string()))?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let hasher = Argon2Hasher::new(cores).map_err(|e| StartupError::Config(e.to_string()))?;
    let (limiter, limiter_name) = limiter(settings).await?;
    let accounts = AccountService::new(
        stores.accounts.clone(),
        stores.refresh_tokens.clone(),
        Arc::new(hasher),
        Arc::new(issuer),
        limiter,
        clock.clone(),
        AccountSettings {
            refresh_token_ttl: Duration::from_secs(
                u64::from(settings.refresh_token_expire_days) * 24 * 3600,
            ),
            login_max_failures: settings.login_max_failures,
            login_window: Duration::from_secs(settings.login_window_seconds),
            max_tenants_per_user: settings.max_tenants_per_user,
            tenant_creates_per_hour: settings.rate_limit_tenant_create_per_hour,
            login_known_address_ttl: Duration::from_secs(
                u64::from(settings.login_known_address_days) * 24 * 3600,
            ),
            refresh_reuse_grace: Duration::from_secs(u64::from(
                settings.refresh_token_grace_seconds,
            )),
        },
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
        trusted_proxies: trusted_proxies(settings)?,
        chat: Arc::new(chat),
        conversations: Arc::new(ConversationService::new(stores.conversations.clone())),
        stream_keep_alive: Duration::from_secs(15),
        billing,
        runs: Some(Arc::new(run_service)),
        chat_plan_limits: Arc::new(
            settings
                .plans
                .iter()
                .filter_map(|(code, plan)| plan.chat_per_minute.map(|limit| (code.clone(), limit)))
                .collect(),
        ),
    };
    Ok(Services {
        state,
        limiter_name,
        run_bus_name,
        runs,
    })
}
