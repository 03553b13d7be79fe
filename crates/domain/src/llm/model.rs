//! What goes to and comes from a chat model.

use serde::{Deserialize, Serialize};

/// A tool call requested by the model, assembled from its streamed fragments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The model's id for the call, echoed with the result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not yet validated.
    pub arguments: String,
}

/// One role-tagged message sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum ChatMessage {
    /// Instructions.
    System {
        /// Text.
        content: String,
    },
    /// The end user.
    User {
        /// Text.
        content: String,
    },
    /// An earlier answer, possibly requesting tools.
    Assistant {
        /// Text (may be empty when only tools were called).
        content: String,
        /// Tool calls requested in that answer.
        tool_calls: Vec<ToolCall>,
    },
    /// The result of a tool call.
    Tool {
        /// The call answered.
        tool_call_id: String,
        /// The result text.
        content: String,
    },
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: serde_json::Value,
}

/// One model call.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// Model name.
    pub model: String,
    /// The conversation so far, instructions first.
    pub messages: Vec<ChatMessage>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// Most tokens the model may generate in this call (a `tokens` budget);
    /// `None` leaves it to the provider.
    pub max_output_tokens: Option<u32>,
}

/// Token counts of one model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Sum.
    pub total_tokens: u32,
}

impl TokenUsage {
    /// Adds another call's usage.
    pub fn add(&mut self, other: TokenUsage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// A complete answer.
    Stop,
    /// It wants tool results.
    ToolCalls,
    /// Output token limit.
    Length,
    /// Filtered by the provider.
    ContentFilter,
    /// Anything else the provider said.
    Other(String),
}

/// One event of a streamed model call.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of answer text.
    TextDelta(String),
    /// A complete tool call (fragments already assembled).
    ToolCall(ToolCall),
    /// Token usage of the call (usually last).
    Usage(TokenUsage),
    /// The call ended.
    Finished(FinishReason),
}
