//! `search_conversations`: the caller's own conversation history.

use std::sync::Arc;

use agents_domain::conversation::ConversationStore;
use async_trait::async_trait;

use super::{Tool, ToolContext, ToolError};

/// What the model (and so the client and the history) is told when the
/// search itself fails.
pub const SEARCH_UNAVAILABLE: &str = "conversation search is unavailable right now";

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
            .map_err(|error| {
                // The store's wording (SQL, hosts) stays in the log: the
                // result reaches the model, the client and the history.
                tracing::warn!(%error, "search_conversations: store search failed");
                ToolError::Failed(SEARCH_UNAVAILABLE.into())
            })?;
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

#[cfg(test)]
mod tests {
    use agents_domain::conversation::{
        ConversationError, ConversationScope, MockConversationStore,
    };
    use agents_domain::{StoreError, TenantId, UserId};

    use super::*;

    #[tokio::test]
    async fn a_store_failure_gives_the_model_a_generic_text_without_the_detail() {
        let mut store = MockConversationStore::new();
        store.expect_search().returning(|_, _, _| {
            Err(ConversationError::Store(StoreError::Other(
                "error returned from database: relation \"agent_messages\" at db.internal:5432"
                    .into(),
            )))
        });
        let tool = SearchConversationsTool::new(Arc::new(store));
        let context = ToolContext {
            scope: ConversationScope {
                tenant_id: TenantId::new(),
                user_id: UserId::new(),
                api_key: None,
                include_unowned: false,
            },
        };
        let error = tool
            .call(context, serde_json::json!({"query": "invoice"}))
            .await
            .expect_err("the search failed");
        assert_eq!(error, ToolError::Failed(SEARCH_UNAVAILABLE.into()));
        let shown = error.to_string();
        assert!(
            !shown.contains("database") && !shown.contains("db.internal"),
            "{shown}"
        );
    }
}
