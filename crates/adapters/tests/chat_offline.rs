//! The chat use case wired to real in-memory adapters and the echo model:
//! what the server runs with no network, end to end below HTTP.

use std::sync::Arc;

use agents_adapters::memory::{InMemoryConversationStore, ScriptedChatModel};
use agents_application::chat::{ChatEvent, ChatRequest, ChatService};
use agents_domain::conversation::{ConversationScope, ConversationStore};
use agents_domain::{TenantId, UserId};
use agents_server::config::{Secret, Settings};
use agents_server::{App, Stores};

/// The chat use case as the composition root wires it, over `store`.
async fn service(
    model: Arc<ScriptedChatModel>,
    store: Arc<InMemoryConversationStore>,
) -> Arc<ChatService> {
    let stores = Stores {
        conversations: store,
        ..Stores::in_memory()
    };
    let settings = Settings {
        secret_key: Some(Secret::new("chat-offline-tests-secret-0123456789")),
        ..Settings::default()
    };
    let app = App::builder(&settings)
        .stores(stores)
        .chat_model(Some(model))
        .build()
        .await
        .expect("the app builds");
    app.state.chat
}

fn ask(message: &str, conversation_id: Option<String>) -> ChatRequest {
    ChatRequest {
        message: message.into(),
        conversation_id,
        agent_type: None,
    }
}

#[tokio::test]
async fn an_echo_conversation_with_a_handoff_a_tool_and_history() {
    let model = Arc::new(ScriptedChatModel::echo());
    let store = Arc::new(InMemoryConversationStore::new());
    let chat = service(model.clone(), store.clone()).await;
    let scope = ConversationScope {
        tenant_id: TenantId::new(),
        user_id: UserId::new(),
        include_unowned: false,
    };

    let first = chat
        .chat(scope, ask("/call transfer_to_code_assistant", None))
        .await
        .expect("answered");
    assert_eq!(first.agent_used, "code_assistant");
    assert_eq!(first.handoffs[0].to_string(), "triage->code_assistant");

    let id = Some(first.conversation_id.to_string());
    let mut run = chat
        .start(scope, ask("/call get_current_time", id))
        .await
        .expect("accepted");
    assert_eq!(
        run.agent, "code_assistant",
        "a continued conversation resumes at its last agent"
    );
    let mut saw_tool = false;
    let reply = loop {
        match run.next().await.expect("a terminal event") {
            ChatEvent::ToolResult {
                name,
                result_preview,
            } => {
                saw_tool =
                    name == "get_current_time" && result_preview.starts_with("Current UTC time");
            }
            ChatEvent::Done(reply) => break reply,
            ChatEvent::Error(error) => panic!("run failed: {error}"),
            _ => {}
        }
    };
    assert!(saw_tool);
    assert!(
        reply.response.contains("(after 2 earlier messages)"),
        "{}",
        reply.response
    );
    assert!(reply.response.contains("Tool results: Current UTC time"));

    let (conversation, messages) = store
        .history(scope, &first.conversation_id)
        .await
        .expect("store answers")
        .expect("stored");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3].content.tool_calls[0].name, "get_current_time");
    assert_eq!(conversation.handoff_count, 1);
    assert_eq!(conversation.active_agent.as_deref(), Some("code_assistant"));
    assert!(conversation.total_tokens_prompt > 0);
}
