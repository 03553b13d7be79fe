//! Building the application services and the HTTP state from the stores.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::auth::{Argon2Hasher, JwtConfig, JwtIssuer};
use agents_adapters::limiter::{InMemoryRateLimiter, RedisRateLimiter};
use agents_application::accounts::{AccountService, AccountSettings};
use agents_application::agents::{AgentCatalog, AgentDefinition};
use agents_application::health::HealthService;
use agents_application::tools::{
    CurrentTimeTool, SearchConversationsTool, ToolRegistry, WebSearchTool,
};
use agents_domain::clock::{Clock, SystemClock};
use agents_domain::limiter::RateLimiter;
use agents_http::extract::TrustedProxies;
use agents_http::{AppInfo, AppState};

use super::{StartupError, secrets, stores::Stores};
use crate::config::Settings;

/// What the server runs.
pub struct Services {
    /// The HTTP state.
    pub state: AppState,
    /// `in-process` or `redis`, for the start-up log.
    pub limiter_name: &'static str,
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

async fn limiter(
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
) -> Result<Services, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut tools = ToolRegistry::new();
    tools
        .register(Arc::new(CurrentTimeTool::new(clock.clone())))
        .register(Arc::new(SearchConversationsTool::new(
            stores.conversations.clone(),
        )))
        .register(Arc::new(WebSearchTool::new(None)));
    let agents = agent_catalog(settings, &tools)?;

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
        clock,
        AccountSettings {
            refresh_token_ttl: Duration::from_secs(
                u64::from(settings.refresh_token_expire_days) * 24 * 3600,
            ),
            login_max_failures: settings.login_max_failures,
            login_window: Duration::from_secs(settings.login_window_seconds),
        },
    );

    let health_timeout = Duration::from_secs_f64(settings.database_health_timeout);
    let state = AppState {
        info: Arc::new(AppInfo {
            name: settings.app_name.clone(),
            description: settings.app_description.clone(),
            version: settings.app_version.clone(),
        }),
        health: Arc::new(HealthService::new(
            settings.app_version.clone(),
            stores.probe.clone(),
            health_timeout,
        )),
        agents: Arc::new(agents),
        tools: Arc::new(tools),
        accounts: Arc::new(accounts),
        trusted_proxies: trusted_proxies(settings)?,
    };
    Ok(Services {
        state,
        limiter_name,
    })
}
