//! What handlers can reach: application services, never adapters.

use std::sync::Arc;

use agents_application::accounts::AccountService;
use agents_application::agents::AgentService;
use agents_application::chat::ChatService;
use agents_application::conversations::ConversationService;
use agents_application::health::HealthService;
use agents_application::tools::ToolRegistry;

use crate::extract::TrustedProxies;

/// Static facts about this service, shown by `/` and the probes.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// Service name.
    pub name: String,
    /// Service description.
    pub description: String,
    /// Reported version.
    pub version: String,
}

/// Shared state of every worker.
#[derive(Clone)]
pub struct AppState {
    /// Name, version, description.
    pub info: Arc<AppInfo>,
    /// Probes.
    pub health: Arc<HealthService>,
    /// The tools agents may call.
    pub tools: Arc<ToolRegistry>,
    /// Accounts, tokens, tenants.
    pub accounts: Arc<AccountService>,
    /// Tenant API keys: management and authentication.
    pub api_keys: Arc<agents_application::api_keys::ApiKeyService>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Chat turns.
    pub chat: Arc<ChatService>,
    /// Conversation history.
    pub conversations: Arc<ConversationService>,
    /// The agent list and each agent's status from stored data.
    pub agent_status: Arc<AgentService>,
    /// Silence after which a stream sends a keep-alive comment.
    pub stream_keep_alive: std::time::Duration,
    /// Billing use cases; `None` when `ENABLE_BILLING` is off (the billing
    /// routes are then not mounted and answer 404).
    pub billing: Option<Arc<agents_application::billing::BillingService>>,
    /// Runs: read, follow, cancel (`None`: the run routes answer 404).
    pub runs: Option<Arc<agents_application::runs::RunService>>,
}
