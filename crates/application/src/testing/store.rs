//! The contract-tested in-memory conversation store of the adapters, with
//! scripted failures of the answer's write for the chat tests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use agents_adapters::memory::InMemoryConversationStore;
use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, MessageRole,
    NewMessage, Page, PageRequest, StoredMessage,
};
use agents_domain::{StoreError, TenantId};
use async_trait::async_trait;

use super::lock;

/// How one scripted assistant append fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFault {
    /// The database does not answer; nothing is stored.
    Refuse,
    /// The message is stored but the answer is lost (the connection dropped
    /// during the commit): the caller sees the database as unavailable.
    StoreThenFail,
    /// The call never returns (a connection that went silent).
    Hang,
}

/// The adapters' in-memory store (held to the store contract there), with
/// scripted faults on assistant appends.
#[derive(Default)]
pub struct MemoryStore {
    inner: InMemoryConversationStore,
    /// Failures of the next assistant appends, one consumed per call.
    pub assistant_faults: Mutex<VecDeque<AppendFault>>,
    /// Assistant appends attempted, failed ones included.
    pub assistant_appends: AtomicU32,
}

impl MemoryStore {
    /// Every stored message of a conversation.
    pub fn messages(&self, tenant: TenantId, key: &ConversationKey) -> Vec<StoredMessage> {
        self.inner
            .snapshot(tenant, key)
            .map(|(_, messages)| messages)
            .unwrap_or_default()
    }

    /// A conversation's header.
    pub fn conversation(&self, tenant: TenantId, key: &ConversationKey) -> Option<Conversation> {
        self.inner.snapshot(tenant, key).map(|(c, _)| c)
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn append(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError> {
        let mut fault = None;
        if message.role == MessageRole::Assistant {
            self.assistant_appends.fetch_add(1, Ordering::SeqCst);
            fault = lock(&self.assistant_faults).pop_front();
        }
        match fault {
            Some(AppendFault::Refuse) => {
                return Err(StoreError::unavailable("database down").into());
            }
            Some(AppendFault::Hang) => std::future::pending::<()>().await,
            Some(AppendFault::StoreThenFail) | None => {}
        }
        let appended = self.inner.append(scope, key, message, update).await?;
        if fault == Some(AppendFault::StoreThenFail) {
            return Err(StoreError::unavailable("connection reset during commit").into());
        }
        Ok(appended)
    }

    async fn find(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, ConversationError> {
        self.inner.find(scope, key).await
    }

    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError> {
        self.inner.recent_messages(scope, key, limit).await
    }

    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError> {
        self.inner.history(scope, key).await
    }

    async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError> {
        self.inner.list(scope, page).await
    }

    async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError> {
        self.inner.search(scope, query, limit).await
    }

    async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<bool, ConversationError> {
        self.inner.delete(scope, key).await
    }

    async fn agent_usage(
        &self,
        tenant: TenantId,
        agent: &str,
    ) -> Result<AgentUsage, ConversationError> {
        self.inner.agent_usage(tenant, agent).await
    }
}
