//! Tools agents can call, behind one registry.

mod current_time;
mod metered;
mod search_conversations;
mod web_search;

use std::collections::BTreeMap;
use std::sync::Arc;

use agents_domain::conversation::ConversationScope;
use async_trait::async_trait;

pub use current_time::CurrentTimeTool;
pub use metered::{MeteredTool, TOOL_CALLS_TOTAL};
pub use search_conversations::SearchConversationsTool;
pub use web_search::{WebSearchTool, format_search_results};

/// What a tool knows about the call it serves.
#[derive(Debug, Clone, Copy)]
pub struct ToolContext {
    /// The caller's tenant and user: tools that read data stay inside it.
    pub scope: ConversationScope,
}

/// Why a tool call failed; the model sees the message as the tool result.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ToolError {
    /// The arguments do not match the tool's schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed.
    #[error("{0}")]
    Failed(String),
}

/// A tool: a name, a JSON Schema for its arguments, and an action.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Tool: Send + Sync {
    /// Name the model calls it by.
    fn name(&self) -> &str;
    /// What it does, for the model and the tools list.
    fn description(&self) -> &str;
    /// Category shown in the tools list.
    fn category(&self) -> &str;
    /// JSON Schema of the arguments.
    fn parameters(&self) -> serde_json::Value;
    /// Whether it can run in this deployment (e.g. a key is configured).
    fn available(&self) -> bool {
        true
    }
    /// Runs the tool with arguments already checked against `parameters`.
    async fn call(
        &self,
        context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError>;
}

/// The tools of this server, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a tool.
    pub fn register(&mut self, tool: Arc<dyn Tool>) -> &mut Self {
        self.tools.insert(tool.name().to_owned(), tool);
        self
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    /// Every tool, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Tool>> {
        self.tools.values()
    }

    /// Every tool name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    /// Distinct categories, sorted.
    pub fn categories(&self) -> Vec<String> {
        let mut categories: Vec<String> = self
            .tools
            .values()
            .map(|t| t.category().to_owned())
            .collect();
        categories.sort();
        categories.dedup();
        categories
    }
}
