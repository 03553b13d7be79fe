//! A minimal in-memory conversation store for the chat tests, with
//! scripted failures of the answer's write.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, MessageRole,
    NewMessage, Page, PageRequest, StoredMessage,
};
use agents_domain::{StoreError, TenantId};
use async_trait::async_trait;

use super::lock;

type Row = (Conversation, Vec<StoredMessage>);

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

/// Conversations in a map; enough of the store contract for chat tests
/// (appends are idempotent per run and role, as the port requires).
#[derive(Default)]
pub struct MemoryStore {
    rows: Mutex<BTreeMap<(TenantId, String), Row>>,
    runs: Mutex<HashSet<(TenantId, String, String, &'static str)>>,
    /// Failures of the next assistant appends, one consumed per call.
    pub assistant_faults: Mutex<VecDeque<AppendFault>>,
    /// Assistant appends attempted, failed ones included.
    pub assistant_appends: AtomicU32,
}

impl MemoryStore {
    /// Every stored message of a conversation.
    pub fn messages(&self, tenant: TenantId, key: &ConversationKey) -> Vec<StoredMessage> {
        lock(&self.rows)
            .get(&(tenant, key.as_str().to_owned()))
            .map(|(_, messages)| messages.clone())
            .unwrap_or_default()
    }

    /// A conversation's header.
    pub fn conversation(&self, tenant: TenantId, key: &ConversationKey) -> Option<Conversation> {
        lock(&self.rows)
            .get(&(tenant, key.as_str().to_owned()))
            .map(|(c, _)| c.clone())
    }

    /// The append itself, without scripted faults.
    fn append_now(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError> {
        let seen = message.run_id.as_ref().map(|run| {
            let key = key.as_str().to_owned();
            (scope.tenant_id, key, run.clone(), message.role.as_str())
        });
        if let Some(seen) = &seen
            && lock(&self.runs).contains(seen)
        {
            let (conversation, messages) = self
                .rows_of(scope.tenant_id, key)
                .ok_or(ConversationError::NotFound)?;
            let position = messages
                .iter()
                .rev()
                .find(|m| m.role == message.role)
                .map_or(0, |m| m.position);
            return Ok(Appended {
                position,
                conversation,
                created: false,
            });
        }
        let mut rows = lock(&self.rows);
        let entry_key = (scope.tenant_id, key.as_str().to_owned());
        let created = !rows.contains_key(&entry_key);
        let (conversation, messages) = rows.entry(entry_key).or_insert_with(|| {
            let conversation = Conversation {
                id: uuid::Uuid::new_v4(),
                key: key.clone(),
                tenant_id: scope.tenant_id,
                user_id: Some(scope.owner.user_id()),
                agent_entrypoint: update.entrypoint.clone(),
                active_agent: None,
                message_count: 0,
                total_tokens_prompt: 0,
                total_tokens_completion: 0,
                handoff_count: 0,
                last_message_at: None,
                created_at: message.created_at,
                updated_at: message.created_at,
            };
            (conversation, Vec::new())
        });
        if !Self::visible(&scope, conversation) {
            return Err(ConversationError::NotFound);
        }
        let position = conversation.message_count;
        conversation.message_count += 1;
        conversation.total_tokens_prompt += update.add_prompt_tokens;
        conversation.total_tokens_completion += update.add_completion_tokens;
        conversation.handoff_count += update.add_handoffs;
        if update.active_agent.is_some() {
            conversation.active_agent = update.active_agent;
        }
        conversation.last_message_at = Some(message.created_at);
        conversation.updated_at = message.created_at;
        messages.push(StoredMessage {
            position,
            role: message.role,
            agent_type: message.agent_type,
            content: message.content,
            token_count_prompt: message.token_count_prompt,
            token_count_completion: message.token_count_completion,
            latency_ms: message.latency_ms,
            created_at: message.created_at,
        });
        if let Some(seen) = seen {
            lock(&self.runs).insert(seen);
        }
        Ok(Appended {
            position,
            conversation: conversation.clone(),
            created,
        })
    }

    fn rows_of(&self, tenant: TenantId, key: &ConversationKey) -> Option<Row> {
        lock(&self.rows)
            .get(&(tenant, key.as_str().to_owned()))
            .cloned()
    }

    fn visible(scope: &ConversationScope, conversation: &Conversation) -> bool {
        conversation.user_id == Some(scope.owner.user_id())
            || (conversation.user_id.is_none() && scope.include_unowned)
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
        let appended = self.append_now(scope, key, message, update)?;
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
        Ok(self.history(scope, key).await?.map(|(c, _)| c))
    }

    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError> {
        let messages = self
            .history(scope, key)
            .await?
            .map(|(_, m)| m)
            .unwrap_or_default();
        let skip = messages
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(messages.into_iter().skip(skip).collect())
    }

    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError> {
        let rows = lock(&self.rows);
        Ok(rows
            .get(&(scope.tenant_id, key.as_str().to_owned()))
            .filter(|(c, _)| Self::visible(&scope, c))
            .cloned())
    }

    async fn list(
        &self,
        _: ConversationScope,
        _: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError> {
        Ok(Page {
            items: vec![],
            total: 0,
        })
    }

    async fn search(
        &self,
        _: ConversationScope,
        _: &str,
        _: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError> {
        Ok(vec![])
    }

    async fn delete(
        &self,
        _: ConversationScope,
        _: &ConversationKey,
    ) -> Result<bool, ConversationError> {
        Ok(false)
    }

    async fn agent_usage(&self, _: TenantId, _: &str) -> Result<AgentUsage, ConversationError> {
        Ok(AgentUsage::default())
    }
}
