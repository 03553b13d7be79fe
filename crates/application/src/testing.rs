//! Test fakes for the application's unit tests: a scripted chat model, a
//! minimal in-memory conversation store and a few tools. (The adapters'
//! richer fakes are out of reach: application must not depend on adapters.)

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, NewMessage,
    Page, PageRequest, StoredMessage,
};
use agents_domain::llm::{
    ChatModel, FinishReason, LlmError, ModelEvent, ModelRequest, ModelStream, TokenUsage, ToolCall,
};
use agents_domain::{StoreError, TenantId};
use async_trait::async_trait;

use crate::tools::{Tool, ToolContext, ToolError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One scripted model call.
pub enum Reply {
    /// The call starts and yields these items.
    Stream(Vec<Result<ModelEvent, LlmError>>),
    /// The call fails before any output.
    Refuse(LlmError),
}

/// Usage reported by every scripted call.
pub const USAGE: TokenUsage = TokenUsage {
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
};

/// A text answer in two deltas.
pub fn text(answer: &str) -> Reply {
    let middle = answer
        .char_indices()
        .nth(answer.chars().count() / 2)
        .map_or(answer.len(), |(i, _)| i);
    Reply::Stream(vec![
        Ok(ModelEvent::TextDelta(answer[..middle].to_owned())),
        Ok(ModelEvent::TextDelta(answer[middle..].to_owned())),
        Ok(ModelEvent::Usage(USAGE)),
        Ok(ModelEvent::Finished(FinishReason::Stop)),
    ])
}

/// A response asking for tools: `(name, arguments)` pairs.
pub fn calls(requested: &[(&str, &str)]) -> Reply {
    let mut events: Vec<_> = requested
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            Ok(ModelEvent::ToolCall(ToolCall {
                id: format!("call_{i}"),
                name: (*name).to_owned(),
                arguments: (*arguments).to_owned(),
            }))
        })
        .collect();
    events.push(Ok(ModelEvent::Usage(USAGE)));
    events.push(Ok(ModelEvent::Finished(FinishReason::ToolCalls)));
    Reply::Stream(events)
}

/// A chat model answering from a script and recording every request.
#[derive(Default)]
pub struct FakeModel {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<ModelRequest>>,
}

impl FakeModel {
    /// A model that plays `replies` in order.
    pub fn new(replies: Vec<Reply>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(replies.into()),
            requests: Mutex::default(),
        })
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ModelRequest> {
        lock(&self.requests).clone()
    }
}

#[async_trait]
impl ChatModel for FakeModel {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, LlmError> {
        lock(&self.requests).push(request);
        match lock(&self.script).pop_front() {
            Some(Reply::Stream(items)) => Ok(Box::pin(futures::stream::iter(items))),
            Some(Reply::Refuse(error)) => Err(error),
            None => Err(LlmError::Unavailable("script exhausted".into())),
        }
    }
}

/// A tool returning its arguments.
pub struct EchoTool(pub &'static str);

#[async_trait]
impl Tool for EchoTool {
    fn name(&self) -> &str {
        self.0
    }
    fn description(&self) -> &str {
        "Echoes its text."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 1}},
            "required": ["text"],
            "additionalProperties": false
        })
    }
    async fn call(
        &self,
        _context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        Ok(format!(
            "echo: {}",
            arguments["text"].as_str().unwrap_or_default()
        ))
    }
}

/// A tool that always fails.
pub struct FailingTool;

#[async_trait]
impl Tool for FailingTool {
    fn name(&self) -> &str {
        "broken"
    }
    fn description(&self) -> &str {
        "Always fails."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object", "properties": {}})
    }
    async fn call(
        &self,
        _context: ToolContext,
        _arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        Err(ToolError::Failed("search failed: provider down".into()))
    }
}

/// A tool that finishes only when `parties` calls wait on it at once:
/// proves calls run concurrently (sequential calls would time out).
pub struct RendezvousTool {
    /// Tool name.
    pub name: &'static str,
    /// Shared with the other half.
    pub barrier: Arc<tokio::sync::Barrier>,
}

#[async_trait]
impl Tool for RendezvousTool {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Waits for its partner."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object"})
    }
    async fn call(
        &self,
        _context: ToolContext,
        _arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        match tokio::time::timeout(Duration::from_secs(2), self.barrier.wait()).await {
            Ok(_) => Ok(format!("{} met its partner", self.name)),
            Err(_) => Err(ToolError::Failed(
                "partner never came: calls ran one by one".into(),
            )),
        }
    }
}

type Row = (Conversation, Vec<StoredMessage>);

/// Conversations in a map; enough of the store contract for chat tests.
#[derive(Default)]
pub struct MemoryStore {
    rows: Mutex<BTreeMap<(TenantId, String), Row>>,
    /// When set, every append fails as the database being down.
    pub fail_appends: std::sync::atomic::AtomicBool,
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

    fn visible(scope: &ConversationScope, conversation: &Conversation) -> bool {
        conversation.user_id == Some(scope.user_id)
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
        if self.fail_appends.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("database down".into()).into());
        }
        let mut rows = lock(&self.rows);
        let entry_key = (scope.tenant_id, key.as_str().to_owned());
        let created = !rows.contains_key(&entry_key);
        let (conversation, messages) = rows.entry(entry_key).or_insert_with(|| {
            let conversation = Conversation {
                id: uuid::Uuid::new_v4(),
                key: key.clone(),
                tenant_id: scope.tenant_id,
                user_id: Some(scope.user_id),
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
        Ok(Appended {
            position,
            conversation: conversation.clone(),
            created,
        })
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
