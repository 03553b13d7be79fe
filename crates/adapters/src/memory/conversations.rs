//! `ConversationStore` in memory, with the same visibility, ordering and
//! counter rules as the SQL store.

use std::collections::HashMap;
use std::sync::Mutex;

use agents_domain::TenantId;
use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, MessageRole,
    NewMessage, Page, PageRequest, StoredMessage,
};
use async_trait::async_trait;
use uuid::Uuid;

use super::lock::lock;
use crate::sql::{preview, truncate_chars};

#[derive(Debug, Clone)]
struct Entry {
    conversation: Conversation,
    messages: Vec<StoredMessage>,
    /// Position of each (run id, role) stored, so a retried append of the
    /// same run's message is not stored twice.
    runs: HashMap<(String, &'static str), i32>,
    /// The API key that started it (it then has no user).
    api_key: Option<agents_domain::ApiKeyId>,
}

/// Conversations keyed by (tenant, key).
#[derive(Debug, Default)]
pub struct InMemoryConversationStore {
    state: Mutex<HashMap<(TenantId, String), Entry>>,
}

impl InMemoryConversationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a conversation exactly as given, replacing one with the same
    /// (tenant, key): data imported from elsewhere, such as the ownerless
    /// conversations the Python service wrote.
    pub fn import(&self, conversation: Conversation, messages: Vec<StoredMessage>) {
        let slot = (conversation.tenant_id, conversation.key.as_str().to_owned());
        lock(&self.state).insert(
            slot,
            Entry {
                conversation,
                messages,
                runs: HashMap::new(),
                api_key: None,
            },
        );
    }

    /// A stored conversation and its messages, whoever owns it (tests look
    /// underneath the scoped port with it).
    pub fn snapshot(
        &self,
        tenant: TenantId,
        key: &ConversationKey,
    ) -> Option<(Conversation, Vec<StoredMessage>)> {
        lock(&self.state)
            .get(&(tenant, key.as_str().to_owned()))
            .map(|e| (e.conversation.clone(), e.messages.clone()))
    }
}

fn visible(entry: &Entry, scope: &ConversationScope) -> bool {
    let conversation = &entry.conversation;
    conversation.tenant_id == scope.tenant_id
        && match (scope.api_key, conversation.user_id) {
            (Some(key), _) => entry.api_key == Some(key),
            (None, Some(user)) => user == scope.user_id,
            (None, None) => scope.include_unowned,
        }
}

fn slot(scope: &ConversationScope, key: &ConversationKey) -> (TenantId, String) {
    (scope.tenant_id, key.as_str().to_owned())
}

/// Visible entries, newest `updated_at` first (ties by id, as in SQL).
fn newest_first<'a>(
    state: &'a HashMap<(TenantId, String), Entry>,
    scope: &ConversationScope,
) -> Vec<&'a Entry> {
    let mut entries: Vec<&Entry> = state.values().filter(|e| visible(e, scope)).collect();
    entries.sort_by(|a, b| {
        (b.conversation.updated_at, b.conversation.id)
            .cmp(&(a.conversation.updated_at, a.conversation.id))
    });
    entries
}

#[async_trait]
impl ConversationStore for InMemoryConversationStore {
    async fn append(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError> {
        let mut state = lock(&self.state);
        let mut created = false;
        let entry = state.entry(slot(&scope, key)).or_insert_with(|| {
            created = true;
            Entry {
                conversation: Conversation {
                    id: Uuid::new_v4(),
                    key: key.clone(),
                    tenant_id: scope.tenant_id,
                    user_id: scope.api_key.is_none().then_some(scope.user_id),
                    agent_entrypoint: update.entrypoint.clone(),
                    active_agent: Some(
                        update
                            .active_agent
                            .clone()
                            .unwrap_or_else(|| update.entrypoint.clone()),
                    ),
                    message_count: 0,
                    total_tokens_prompt: 0,
                    total_tokens_completion: 0,
                    handoff_count: 0,
                    last_message_at: None,
                    created_at: message.created_at,
                    updated_at: message.created_at,
                },
                messages: Vec::new(),
                runs: HashMap::new(),
                api_key: scope.api_key,
            }
        });
        if !visible(entry, &scope) {
            return Err(ConversationError::NotFound);
        }
        let run = message
            .run_id
            .as_ref()
            .map(|run| (run.clone(), message.role.as_str()));
        if let Some(&position) = run.as_ref().and_then(|run| entry.runs.get(run)) {
            return Ok(Appended {
                position,
                conversation: entry.conversation.clone(),
                created: false,
            });
        }
        let c = &mut entry.conversation;
        let position = c.message_count;
        c.message_count += 1;
        c.total_tokens_prompt += update.add_prompt_tokens;
        c.total_tokens_completion += update.add_completion_tokens;
        c.handoff_count += update.add_handoffs;
        if let Some(agent) = update.active_agent {
            c.active_agent = Some(agent);
        }
        c.last_message_at = Some(message.created_at);
        c.updated_at = message.created_at;
        if let Some(run) = run {
            entry.runs.insert(run, position);
        }
        entry.messages.push(StoredMessage {
            position,
            role: message.role,
            agent_type: message.agent_type,
            content: message.content,
            token_count_prompt: message.token_count_prompt,
            token_count_completion: message.token_count_completion,
            latency_ms: message.latency_ms,
            created_at: message.created_at,
        });
        Ok(Appended {
            position,
            conversation: entry.conversation.clone(),
            created,
        })
    }

    async fn find(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, ConversationError> {
        let state = lock(&self.state);
        Ok(state
            .get(&slot(&scope, key))
            .filter(|e| visible(e, &scope))
            .map(|e| e.conversation.clone()))
    }

    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError> {
        let state = lock(&self.state);
        let Some(entry) = state.get(&slot(&scope, key)).filter(|e| visible(e, &scope)) else {
            return Ok(Vec::new());
        };
        let keep = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(entry.messages.len());
        Ok(entry.messages[entry.messages.len() - keep..].to_vec())
    }

    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError> {
        let state = lock(&self.state);
        Ok(state
            .get(&slot(&scope, key))
            .filter(|e| visible(e, &scope))
            .map(|e| (e.conversation.clone(), e.messages.clone())))
    }

    async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError> {
        let state = lock(&self.state);
        let entries = newest_first(&state, &scope);
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let items = entries
            .iter()
            .skip(offset)
            .take(limit)
            .map(|e| ConversationSummary {
                key: e.conversation.key.clone(),
                message_count: e.conversation.message_count,
                last_message: e
                    .messages
                    .last()
                    .map(|m| truncate_chars(&m.content.text, 120)),
                created_at: e.conversation.created_at,
                updated_at: e.conversation.updated_at,
            })
            .collect();
        Ok(Page {
            items,
            total: entries.len() as u64,
        })
    }

    async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError> {
        let needle = query.to_lowercase();
        let state = lock(&self.state);
        let hits = newest_first(&state, &scope)
            .into_iter()
            .filter_map(|e| {
                let hit = e
                    .messages
                    .iter()
                    .rev()
                    .find(|m| m.content.text.to_lowercase().contains(&needle));
                let key_hit = e.conversation.key.as_str().to_lowercase().contains(&needle);
                if hit.is_none() && !key_hit {
                    return None;
                }
                let text = hit
                    .or(e.messages.last())
                    .map(|m| m.content.text.as_str())
                    .unwrap_or_default();
                Some(ConversationHit {
                    key: e.conversation.key.clone(),
                    preview: preview(text, query),
                })
            })
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        Ok(hits)
    }

    async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<bool, ConversationError> {
        let mut state = lock(&self.state);
        let slot = slot(&scope, key);
        if state.get(&slot).is_some_and(|e| visible(e, &scope)) {
            state.remove(&slot);
            return Ok(true);
        }
        Ok(false)
    }

    async fn agent_usage(
        &self,
        tenant: TenantId,
        agent: &str,
    ) -> Result<AgentUsage, ConversationError> {
        let state = lock(&self.state);
        let mut usage = AgentUsage::default();
        for entry in state
            .values()
            .filter(|e| e.conversation.tenant_id == tenant)
        {
            let c = &entry.conversation;
            if c.active_agent.as_deref() == Some(agent) || c.agent_entrypoint == agent {
                usage.total_conversations += 1;
            }
            let answered = entry
                .messages
                .iter()
                .filter(|m| {
                    m.role == MessageRole::Assistant && m.agent_type.as_deref() == Some(agent)
                })
                .map(|m| m.created_at)
                .max();
            usage.last_used = usage.last_used.max(answered);
        }
        Ok(usage)
    }
}
