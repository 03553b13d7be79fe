//! The conversation store port.

use async_trait::async_trait;

use super::{
    AgentUsage, Appended, Conversation, ConversationHit, ConversationKey, ConversationScope,
    ConversationSummary, ConversationUpdate, NewMessage, Page, PageRequest, StoredMessage,
};
use crate::{StoreError, TenantId};

/// Errors of the conversation store.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// Absent, or not visible to the caller (the two look the same).
    #[error("conversation not found")]
    NotFound,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Conversations and messages. Every method filters by the scope's tenant in
/// the query itself.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Appends a message at the next position and applies `update` to the
    /// conversation, in one transaction; creates the conversation (owned by
    /// the scope's user) when the key is new in the tenant. Concurrent
    /// appends get distinct, gap-free positions. When `message.run_id` is
    /// set and that run already stored a message of the same role in this
    /// conversation (among its latest 100), nothing is written and that
    /// message's position is returned: an append whose outcome was lost
    /// (the connection dropped during the commit) can be sent again without
    /// storing it twice. Errors: `NotFound` when the key exists in the
    /// tenant but is not visible to the caller; `Store(Unavailable)` when
    /// the database does not answer (the message may or may not be stored).
    async fn append(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError>;

    /// The conversation header, `None` when absent or not visible.
    async fn find(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, ConversationError>;

    /// The last `limit` messages, oldest first. Empty when absent or not visible.
    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError>;

    /// The header and every message, oldest first; `None` when absent or
    /// not visible.
    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError>;

    /// Visible conversations, newest `updated_at` first, paged in the store.
    async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError>;

    /// Visible conversations whose key or message text contains `query`
    /// (case-insensitive), newest first, at most `limit`.
    async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError>;

    /// Deletes a visible conversation and its messages. Returns whether one
    /// was deleted.
    async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<bool, ConversationError>;

    /// How much the tenant used `agent`: conversations whose active agent it
    /// is or that started with it, and the last time it answered.
    async fn agent_usage(
        &self,
        tenant: TenantId,
        agent: &str,
    ) -> Result<AgentUsage, ConversationError>;
}
