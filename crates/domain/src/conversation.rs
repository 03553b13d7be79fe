//! Conversations and their messages.

mod key;
mod model;
mod store;

pub use key::ConversationKey;
pub use model::{
    AgentUsage, Appended, Conversation, ConversationHit, ConversationScope, ConversationSummary,
    ConversationUpdate, MessageContent, MessageRole, NewMessage, Page, PageRequest, StoredMessage,
    ToolCallRecord,
};
#[cfg(any(test, feature = "mocks"))]
pub use store::MockConversationStore;
pub use store::{ConversationError, ConversationStore};
