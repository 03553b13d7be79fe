//! Shared test state: the real app over mocks, no database, no network.

use std::sync::Arc;
use std::time::Duration;

use agents_application::agents::AgentCatalog;
use agents_application::health::HealthService;
use agents_application::tools::{CurrentTimeTool, SearchConversationsTool, ToolRegistry, WebSearchTool};
use agents_domain::clock::SystemClock;
use agents_domain::conversation::MockConversationStore;
use agents_domain::health::HealthProbe;
use agents_http::{AppInfo, AppState};

#[allow(dead_code)]
pub fn state_with_probe(probe: Option<Arc<dyn HealthProbe>>) -> AppState {
    let mut tools = ToolRegistry::new();
    tools
        .register(Arc::new(CurrentTimeTool::new(Arc::new(SystemClock))))
        .register(Arc::new(SearchConversationsTool::new(Arc::new(MockConversationStore::new()))))
        .register(Arc::new(WebSearchTool::new(None)));
    let agents = AgentCatalog::new(vec![], &tools.names()).expect("built-in catalog is valid");
    AppState {
        info: Arc::new(AppInfo {
            name: "Test Agents".into(),
            description: "test".into(),
            version: "9.9.9".into(),
        }),
        health: Arc::new(HealthService::new("9.9.9", probe, Duration::from_millis(100))),
        agents: Arc::new(agents),
        tools: Arc::new(tools),
    }
}

#[allow(dead_code)]
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
