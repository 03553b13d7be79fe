//! The adapters the settings choose: model provider, web search, limiter,
//! agent catalog, trusted proxies.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::limiter::{InMemoryRateLimiter, RedisRateLimiter};
use agents_adapters::openai::{OpenAiChatModel, OpenAiSettings, TokenLimitField};
use agents_adapters::tavily::{TavilySearch, TavilySettings};
use agents_application::agents::{AgentCatalog, AgentDefinition};
use agents_application::tools::ToolRegistry;
use agents_domain::limiter::RateLimiter;
use agents_domain::llm::ChatModel;
use agents_domain::search::WebSearch;
use agents_http::extract::TrustedProxies;

use super::StartupError;
use crate::config::{MaxTokensField, Settings};

mod billing;

pub use billing::{billing_service, billing_turn_guard};

pub(super) fn agent_catalog(
    settings: &Settings,
    tools: &ToolRegistry,
) -> Result<AgentCatalog, StartupError> {
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

pub(super) fn trusted_proxies(settings: &Settings) -> Result<TrustedProxies, StartupError> {
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
pub(super) fn chat_model(settings: &Settings) -> Result<Option<Arc<dyn ChatModel>>, StartupError> {
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

pub(super) fn web_search(settings: &Settings) -> Result<Option<Arc<dyn WebSearch>>, StartupError> {
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
