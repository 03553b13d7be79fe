//! Everything before the model is called: validating the request, choosing
//! the agent, loading the history and storing the user's message.

use agents_domain::conversation::{
    ConversationKey, ConversationScope, ConversationUpdate, MessageContent, MessageRole,
    NewMessage, StoredMessage,
};
use agents_domain::llm::ChatMessage;
use agents_domain::{FieldError, RunId};

use super::{ChatError, ChatRequest, ChatService, ChatSettings, TurnPermit};
use crate::runtime::RunRequest;
use crate::tools::ToolContext;

/// A request that passed validation.
pub(super) struct Prepared {
    message: String,
    key: ConversationKey,
    agent_type: Option<String>,
}

/// A turn whose user message is stored, ready to run.
pub(super) struct AcceptedTurn {
    pub scope: ConversationScope,
    pub key: ConversationKey,
    /// Groups the user and assistant messages of this turn.
    pub run_id: RunId,
    pub run: RunRequest,
}

/// Checks the message and the conversation id, reporting every bad field.
pub(super) fn validate(
    request: &ChatRequest,
    settings: &ChatSettings,
) -> Result<Prepared, ChatError> {
    let mut errors = Vec::new();
    let message = request.message.trim();
    let length = message.chars().count();
    if length == 0 {
        errors.push(FieldError::new("message", "must not be empty"));
    } else if length > settings.max_message_chars {
        errors.push(FieldError::new(
            "message",
            format!("must be at most {} characters", settings.max_message_chars),
        ));
    }
    let key = match request.conversation_id.as_deref() {
        None => Some(ConversationKey::generate()),
        Some(id) => ConversationKey::parse(id).map_err(|e| errors.push(e)).ok(),
    };
    match key {
        Some(key) if errors.is_empty() => Ok(Prepared {
            message: message.to_owned(),
            key,
            agent_type: request.agent_type.clone(),
        }),
        _ => Err(ChatError::Validation(errors)),
    }
}

/// Picks the agent, reads the history and stores the user's message (in
/// that order, so the history never contains the new message).
pub(super) async fn accept(
    service: &ChatService,
    scope: ConversationScope,
    prepared: Prepared,
    permit: &TurnPermit,
) -> Result<AcceptedTurn, ChatError> {
    let catalog = service.runtime.catalog();
    let existing = service.store.find(scope, &prepared.key).await?;
    let agent = match (&prepared.agent_type, &existing) {
        (Some(name), _) => catalog.resolve(Some(name)),
        // Resume where the conversation left off: its last answering agent,
        // else the agent it was started with.
        (None, Some(conversation)) => catalog.resolve(
            conversation
                .active_agent
                .as_deref()
                .or(Some(conversation.agent_entrypoint.as_str())),
        ),
        (None, None) => catalog.resolve(None),
    };
    let history = match existing {
        Some(_) => service
            .store
            .recent_messages(scope, &prepared.key, service.settings.history_messages)
            .await?
            .into_iter()
            .filter_map(to_model_message)
            .collect(),
        None => Vec::new(),
    };
    let run_id = RunId::new();
    let message = NewMessage {
        role: MessageRole::User,
        agent_type: None,
        content: MessageContent::text(prepared.message.clone()),
        token_count_prompt: None,
        token_count_completion: None,
        latency_ms: None,
        run_id: Some(run_id.to_string()),
        created_at: service.clock.now(),
    };
    let update = ConversationUpdate {
        entrypoint: agent.name.clone(),
        ..ConversationUpdate::default()
    };
    service
        .store
        .append(scope, &prepared.key, message, update)
        .await?;
    Ok(AcceptedTurn {
        scope,
        key: prepared.key,
        run_id,
        run: RunRequest {
            agent: agent.name.clone(),
            history,
            message: prepared.message,
            context: ToolContext { scope },
            disabled_tools: permit.disabled_tools.clone(),
            token_budget: permit.max_tokens,
        },
    })
}

/// A stored message as the model sees it: user and assistant text only;
/// tool calls are not replayed in later turns.
fn to_model_message(message: StoredMessage) -> Option<ChatMessage> {
    let text = message.content.text;
    if text.trim().is_empty() {
        return None;
    }
    match message.role {
        MessageRole::User => Some(ChatMessage::User { content: text }),
        MessageRole::Assistant => Some(ChatMessage::Assistant {
            content: text,
            tool_calls: Vec::new(),
        }),
        MessageRole::System | MessageRole::Tool => None,
    }
}
