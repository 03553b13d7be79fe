//! The chat-model port: a streaming interface over any OpenAI-compatible
//! (or other) model.

mod model;
mod port;

pub use model::{
    ChatMessage, FinishReason, ModelEvent, ModelRequest, TokenUsage, ToolCall, ToolSpec,
};
#[cfg(any(test, feature = "mocks"))]
pub use port::MockChatModel;
pub use port::{ChatModel, LlmError, ModelStream};
