//! `search_conversations`: the caller's own conversation history.

use std::sync::Arc;

use agents_domain::conversation::ConversationStore;
use async_trait::async_trait;

use super::{Tool, ToolContext, ToolError};

/// Searches the caller's conversations through the store (never by loading
/// them all).
pub struct SearchConversationsTool {
    store: Arc<dyn ConversationStore>,
}

impl SearchConversationsTool {
    /// A tool over `store`.
    pub fn new(store: Arc<dyn ConversationStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Tool for SearchConversationsTool {
    fn name(&self) -> &str {
        "search_conversations"
    }
    fn description(&self) -> &str {
        "Search the user's previous conversations for a word or phrase."
    }
    fn category(&self) -> &str {
        "conversation"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "Text to look for"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Maximum results (default 5)"}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }
    async fn call(
        &self,
        context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        let query = arguments
            .get("query")
            .and_then(|q| q.as_str())
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| {
                ToolError::InvalidArguments("'query' must be a non-empty string".into())
            })?;
        let limit = arguments
            .get("limit")
            .and_then(|l| l.as_u64())
            .unwrap_or(5)
            .clamp(1, 20);
        let hits = self
            .store
            .search(context.scope, query, limit)
            .await
            .map_err(|e| ToolError::Failed(format!("search failed: {e}")))?;
        if hits.is_empty() {
            return Ok(format!("No conversations found matching '{query}'."));
        }
        let mut out = format!("Found {} conversation(s) matching '{query}':\n", hits.len());
        for (i, hit) in hits.iter().enumerate() {
            out.push_str(&format!("{}. [{}] {}\n", i + 1, hit.key, hit.preview));
        }
        Ok(out)
    }
}
