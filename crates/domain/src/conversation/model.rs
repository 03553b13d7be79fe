//! Conversation entities and the shapes the store port exchanges.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ConversationKey;
use crate::{TenantId, UserId};

/// Who is asking, which decides what conversations are visible: a user sees
/// their own; owners and admins also see the tenant's conversations stored
/// without a user (those the Python service wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationScope {
    /// The tenant every query is filtered by.
    pub tenant_id: TenantId,
    /// The caller.
    pub user_id: UserId,
    /// Whether conversations without a user are visible (owner/admin):
    /// the Python service's and those of the tenant's API keys.
    pub include_unowned: bool,
    /// The API key acting, when it is one: it sees only the conversations
    /// it started, and those it starts belong to it (no user). `user_id` is
    /// then the key's id, which matches no user.
    pub api_key: Option<crate::ApiKeyId>,
}

/// A stored conversation's header.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Row id (random for new rows; the Python service's own for adopted ones).
    pub id: Uuid,
    /// The client-visible id.
    pub key: ConversationKey,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Owning user; `None` for adopted conversations.
    pub user_id: Option<UserId>,
    /// The agent the conversation started with.
    pub agent_entrypoint: String,
    /// The agent that answered last (after handoffs).
    pub active_agent: Option<String>,
    /// Number of stored messages (next position).
    pub message_count: i32,
    /// Sum of prompt tokens of all turns.
    pub total_tokens_prompt: i32,
    /// Sum of completion tokens of all turns.
    pub total_tokens_completion: i32,
    /// Number of handoffs over the conversation's life.
    pub handoff_count: i32,
    /// When the last message was stored.
    pub last_message_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// The end user.
    User,
    /// An agent.
    Assistant,
    /// System text.
    System,
    /// A tool result.
    Tool,
}

impl MessageRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::System => "system",
            MessageRole::Tool => "tool",
        }
    }

    /// Parses a stored name; unknown names read as `System` so an odd row
    /// never hides a conversation.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "user" => MessageRole::User,
            "assistant" => MessageRole::Assistant,
            "tool" => MessageRole::Tool,
            _ => MessageRole::System,
        }
    }
}

/// A tool call made during a turn, stored inside the assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// Tool name.
    pub name: String,
    /// Arguments as the model sent them (JSON).
    pub arguments: serde_json::Value,
    /// The start of the tool's result.
    pub result_preview: String,
}

/// A message's `content` column: `{"text": ..., "tool_calls": [...]}`; the
/// Python service wrote `{"text": ...}` only, which reads the same.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageContent {
    /// The message text.
    #[serde(default)]
    pub text: String,
    /// Tool calls of the turn (assistant messages only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallRecord>,
    /// Whether the run was stopped (cancelled or interrupted) before the
    /// answer was complete: `text` is what was produced until then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

impl MessageContent {
    /// Content with text only.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tool_calls: Vec::new(),
            cancelled: false,
        }
    }

    /// Reads a stored JSON value leniently: a bare string or an object
    /// without `text` still gives its text, so no row is unreadable.
    pub fn from_json(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::String(s) => Self::text(s.clone()),
            serde_json::Value::Object(_) => {
                serde_json::from_value(value.clone()).unwrap_or_else(|_| {
                    Self::text(
                        value
                            .get("text")
                            .and_then(|t| t.as_str())
                            .unwrap_or_default(),
                    )
                })
            }
            other => Self::text(other.to_string()),
        }
    }

    /// The JSON stored in the `content` column.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({ "text": self.text }))
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// 0-based position in the conversation.
    pub position: i32,
    /// Author role.
    pub role: MessageRole,
    /// The agent that wrote it (assistant messages).
    pub agent_type: Option<String>,
    /// Content.
    pub content: MessageContent,
    /// Prompt tokens of the turn (assistant messages).
    pub token_count_prompt: Option<i32>,
    /// Completion tokens of the turn (assistant messages).
    pub token_count_completion: Option<i32>,
    /// Model latency of the turn in ms.
    pub latency_ms: Option<i32>,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Author role.
    pub role: MessageRole,
    /// The agent that wrote it.
    pub agent_type: Option<String>,
    /// Content.
    pub content: MessageContent,
    /// Prompt tokens of the turn.
    pub token_count_prompt: Option<i32>,
    /// Completion tokens of the turn.
    pub token_count_completion: Option<i32>,
    /// Model latency in ms.
    pub latency_ms: Option<i32>,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// Storage time.
    pub created_at: OffsetDateTime,
}

/// Counter changes applied to the conversation with an append, in the same
/// transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConversationUpdate {
    /// Entry agent, used when the append creates the conversation.
    pub entrypoint: String,
    /// The new active agent, when it changed.
    pub active_agent: Option<String>,
    /// Prompt tokens to add.
    pub add_prompt_tokens: i32,
    /// Completion tokens to add.
    pub add_completion_tokens: i32,
    /// Handoffs to add.
    pub add_handoffs: i32,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The position the message got.
    pub position: i32,
    /// The conversation after the append.
    pub conversation: Conversation,
    /// Whether this append created the conversation.
    pub created: bool,
}

/// One line of the conversation list.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    /// Client-visible id.
    pub key: ConversationKey,
    /// Messages stored.
    pub message_count: i32,
    /// Text of the last message, at most 120 characters.
    pub last_message: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationHit {
    /// Client-visible id.
    pub key: ConversationKey,
    /// Text around the match.
    pub preview: String,
}

/// A page request: `page` ≥ 1, `limit` 1..=100 (validated at the edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: u64,
    /// Items per page.
    pub limit: u64,
}

impl PageRequest {
    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.limit)
    }
}

/// A page of results with the total count.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Items across all pages.
    pub total: u64,
}

/// An agent's use in one tenant, from stored conversations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentUsage {
    /// When the agent last answered.
    pub last_used: Option<OffsetDateTime>,
    /// Conversations the agent answered in.
    pub total_conversations: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_content_reads_as_text() {
        let content = MessageContent::from_json(&serde_json::json!({"text": "hello"}));
        assert_eq!(content, MessageContent::text("hello"));
        assert_eq!(
            MessageContent::text("hi").to_json(),
            serde_json::json!({"text": "hi"})
        );
    }

    #[test]
    fn tool_calls_round_trip_inside_content() {
        let content = MessageContent {
            text: "done".into(),
            tool_calls: vec![ToolCallRecord {
                name: "get_current_time".into(),
                arguments: serde_json::json!({}),
                result_preview: "12:00".into(),
            }],
            cancelled: false,
        };
        let json = content.to_json();
        assert_eq!(json["tool_calls"][0]["name"], "get_current_time");
        assert_eq!(MessageContent::from_json(&json), content);
        let stopped = MessageContent {
            cancelled: true,
            ..MessageContent::text("half an ans")
        };
        assert_eq!(
            stopped.to_json(),
            serde_json::json!({"text": "half an ans", "cancelled": true})
        );
        assert_eq!(MessageContent::from_json(&stopped.to_json()), stopped);
    }

    #[test]
    fn odd_content_still_reads() {
        assert_eq!(
            MessageContent::from_json(&serde_json::json!("plain")).text,
            "plain"
        );
        assert_eq!(
            MessageContent::from_json(&serde_json::json!({"text": 5})).text,
            ""
        );
        assert_eq!(MessageContent::from_json(&serde_json::json!(42)).text, "42");
    }

    #[test]
    fn page_offset() {
        assert_eq!(PageRequest { page: 3, limit: 20 }.offset(), 40);
        assert_eq!(PageRequest { page: 1, limit: 20 }.offset(), 0);
    }
}
