//! The chat use case over a scripted model and an in-memory store.

use std::sync::Arc;
use std::time::Duration;

use agents_domain::clock::SystemClock;
use agents_domain::conversation::{ConversationKey, ConversationScope, MessageRole};
use agents_domain::llm::{ChatMessage, LlmError, TokenUsage};
use agents_domain::{TenantId, UserId};

use super::guard::MockTurnGuard;
use super::*;
use crate::runtime::tests::{test_catalog, test_registry};
use crate::runtime::{AgentRuntime, RuntimeSettings};
use crate::testing::{FakeModel, MemoryStore, Reply, USAGE, calls, model, text};

struct Fixture {
    model: Arc<FakeModel>,
    store: Arc<MemoryStore>,
    service: ChatService,
    scope: ConversationScope,
}

fn fixture(replies: Vec<Reply>) -> Fixture {
    let model = model(replies);
    let store = Arc::new(MemoryStore::default());
    let runtime = AgentRuntime::new(
        model.clone(),
        Arc::new(test_catalog()),
        Arc::new(test_registry()),
        RuntimeSettings::default(),
    );
    let service = ChatService::new(
        Arc::new(runtime),
        store.clone(),
        Arc::new(SystemClock),
        ChatSettings::default(),
    );
    let scope = ConversationScope {
        tenant_id: TenantId::new(),
        user_id: UserId::new(),
        api_key: None,
        include_unowned: false,
    };
    Fixture {
        model,
        store,
        service,
        scope,
    }
}

fn ask(message: &str, conversation: Option<&ConversationKey>, agent: Option<&str>) -> ChatRequest {
    ChatRequest {
        message: message.into(),
        conversation_id: conversation.map(|k| k.to_string()),
        agent_type: agent.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_turn_stores_both_messages_and_the_counters() {
    let f = fixture(vec![
        calls(&[("echo", r#"{"text":"x"}"#)]),
        text("Hi there"),
    ]);
    let reply = f
        .service
        .chat(f.scope, ask("  hello  ", None, Some("tester")))
        .await
        .expect("answered");
    assert_eq!(
        (reply.response.as_str(), reply.agent_used.as_str()),
        ("Hi there", "tester")
    );
    assert_eq!(reply.usage.total_tokens, 2 * USAGE.total_tokens);
    let messages = f.store.messages(f.scope.tenant_id, &reply.conversation_id);
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].role, messages[0].content.text.as_str()),
        (MessageRole::User, "hello")
    );
    let answer = &messages[1];
    assert_eq!(
        (answer.role, answer.agent_type.as_deref()),
        (MessageRole::Assistant, Some("tester"))
    );
    assert_eq!(answer.content.tool_calls.len(), 1);
    assert_eq!(
        answer.token_count_prompt,
        Some(2 * USAGE.prompt_tokens as i32)
    );
    assert!(answer.latency_ms.is_some());
    let conversation = f
        .store
        .conversation(f.scope.tenant_id, &reply.conversation_id)
        .expect("stored");
    assert_eq!(conversation.agent_entrypoint, "tester");
    assert_eq!(conversation.active_agent.as_deref(), Some("tester"));
    assert_eq!(
        conversation.total_tokens_completion,
        2 * USAGE.completion_tokens as i32
    );
}

#[tokio::test]
async fn the_second_turn_sends_the_history_and_resumes_the_last_agent() {
    let handoff = calls(&[("transfer_to_helper", "{}")]);
    let f = fixture(vec![handoff, text("Helper here"), text("Still helper")]);
    let first = f
        .service
        .chat(f.scope, ask("first", None, Some("tester")))
        .await
        .expect("answered");
    assert!(first.handoff_occurred);
    assert_eq!(first.handoffs[0].to_string(), "tester->helper");
    let conversation = f
        .store
        .conversation(f.scope.tenant_id, &first.conversation_id)
        .expect("stored");
    assert_eq!(
        (
            conversation.handoff_count,
            conversation.active_agent.as_deref()
        ),
        (1, Some("helper"))
    );

    let second = f
        .service
        .chat(f.scope, ask("second", Some(&first.conversation_id), None))
        .await
        .expect("answered");
    assert_eq!(second.agent_used, "helper");
    let sent = &f.model.requests()[2].messages;
    assert_eq!(
        sent[0],
        ChatMessage::System {
            content: "You are helper.".into()
        }
    );
    assert_eq!(
        sent[1],
        ChatMessage::User {
            content: "first".into()
        }
    );
    assert_eq!(
        sent[2],
        ChatMessage::Assistant {
            content: "Helper here".into(),
            tool_calls: vec![]
        }
    );
    assert_eq!(
        sent[3],
        ChatMessage::User {
            content: "second".into()
        }
    );
    assert_eq!(
        sent.len(),
        4,
        "tool calls of earlier turns are not replayed"
    );
}

#[tokio::test]
async fn the_user_message_is_stored_even_when_the_model_fails() {
    let f = fixture(vec![Reply::Fail(LlmError::Provider {
        status: Some(500),
        message: "down".into(),
        retry_after: None,
    })]);
    let run = f
        .service
        .start(f.scope, ask("hello", None, None))
        .await
        .expect("accepted");
    let key = run.conversation_id.clone();
    assert_eq!(
        run.collect().await,
        Err(ChatError::LlmError {
            status: Some(500),
            message: "down".into()
        })
    );
    let messages = f.store.messages(f.scope.tenant_id, &key);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].role, MessageRole::User);
}

#[tokio::test]
async fn model_failures_map_to_the_api_error_kinds() {
    for (error, expected) in [
        (LlmError::Timeout, ChatError::LlmTimeout),
        (
            LlmError::Unavailable("no key".into()),
            ChatError::LlmUnavailable("no key".into()),
        ),
    ] {
        let f = fixture(vec![Reply::Fail(error)]);
        assert_eq!(
            f.service.chat(f.scope, ask("hello", None, None)).await,
            Err(expected)
        );
    }
}

#[tokio::test]
async fn the_run_completes_and_is_stored_when_the_consumer_goes_away() {
    let f = fixture(vec![
        calls(&[("echo", r#"{"text":"x"}"#)]),
        text("full answer"),
    ]);
    let mut run = f
        .service
        .start(f.scope, ask("hello", None, None))
        .await
        .expect("accepted");
    let key = run.conversation_id.clone();
    let _first = run.next().await;
    drop(run);
    let stored = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let messages = f.store.messages(f.scope.tenant_id, &key);
            if messages.len() == 2 {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the answer was stored");
    assert_eq!(stored[1].content.text, "full answer");
}

#[tokio::test]
async fn events_stream_in_order_and_end_with_done() {
    let f = fixture(vec![calls(&[("echo", r#"{"text":"x"}"#)]), text("Hello")]);
    let mut run = f
        .service
        .start(f.scope, ask("hello", None, Some("tester")))
        .await
        .expect("accepted");
    assert_eq!(run.agent, "tester");
    let mut kinds = Vec::new();
    while let Some(event) = run.next().await {
        kinds.push(match event {
            ChatEvent::Delta(_) => "delta",
            ChatEvent::ToolCall { .. } => "tool_call",
            ChatEvent::ToolResult { .. } => "tool_result",
            ChatEvent::Handoff { .. } => "handoff",
            ChatEvent::Done(_) => "done",
            ChatEvent::Error(_) => "error",
        });
    }
    assert_eq!(
        kinds,
        ["tool_call", "tool_result", "delta", "delta", "done"]
    );
}

#[tokio::test]
async fn invalid_requests_store_nothing_and_call_no_model() {
    let f = fixture(vec![]);
    let mut bad = ask("   ", None, None);
    bad.conversation_id = Some("has space".into());
    let Err(ChatError::Validation(errors)) = f.service.start(f.scope, bad).await else {
        panic!("expected a validation error");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["message", "conversation_id"]);
    let long = ask(&"x".repeat(32_001), None, None);
    assert!(matches!(
        f.service.start(f.scope, long).await,
        Err(ChatError::Validation(_))
    ));
    assert!(f.model.requests().is_empty());
}

#[tokio::test]
async fn unknown_agents_fall_back_to_triage_and_uuid_ids_are_normalised() {
    let f = fixture(vec![text("hi")]);
    let id = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    let mut request = ask("hello", None, Some("nope"));
    request.conversation_id = Some(id.into());
    let reply = f.service.chat(f.scope, request).await.expect("answered");
    assert_eq!(reply.agent_used, "triage");
    assert_eq!(reply.conversation_id.as_str(), id.to_lowercase());
}

#[tokio::test]
async fn another_users_conversation_is_not_found_and_the_permit_is_returned() {
    let f = fixture(vec![text("mine"), text("theirs")]);
    let first = f
        .service
        .chat(f.scope, ask("hello", None, None))
        .await
        .expect("answered");
    let mut guard = MockTurnGuard::new();
    guard
        .expect_admit()
        .returning(|_| Ok(super::Admission::default()));
    guard
        .expect_before_turn()
        .returning(|_, _| Ok(TurnPermit::default()));
    guard
        .expect_after_turn()
        .withf(|_, _, outcome| !outcome.succeeded && outcome.usage == TokenUsage::default())
        .times(1)
        .return_const(());
    let service = f.service.clone().with_turn_guard(Arc::new(guard));
    let intruder = ConversationScope {
        user_id: UserId::new(),
        api_key: None,
        ..f.scope
    };
    let result = service
        .start(
            intruder,
            ask("let me in", Some(&first.conversation_id), None),
        )
        .await;
    assert!(matches!(result, Err(ChatError::ConversationNotFound)));
    assert_eq!(
        f.store
            .messages(f.scope.tenant_id, &first.conversation_id)
            .len(),
        2
    );
}

#[tokio::test]
async fn the_turn_guard_can_refuse_disable_tools_and_is_told_the_usage() {
    let f = fixture(vec![text("ok")]);
    let mut refusing = MockTurnGuard::new();
    refusing
        .expect_admit()
        .returning(|_| Ok(super::Admission::default()));
    refusing.expect_before_turn().returning(|_, _| {
        Err(TurnRefused::QuotaExceeded {
            message: "monthly messages used".into(),
            retry_after: None,
        })
    });
    let service = f.service.clone().with_turn_guard(Arc::new(refusing));
    let refused = service.start(f.scope, ask("hello", None, None)).await;
    assert!(matches!(refused, Err(ChatError::QuotaExceeded { .. })));
    assert!(f.model.requests().is_empty());

    let mut limiting = MockTurnGuard::new();
    limiting
        .expect_admit()
        .returning(|_| Ok(super::Admission::default()));
    limiting.expect_before_turn().returning(|_, _| {
        Ok(TurnPermit {
            disabled_tools: ["echo".to_owned()].into(),
            max_tokens: Some(50),
            reservation: Some("r1".into()),
        })
    });
    limiting
        .expect_after_turn()
        .withf(|_, permit, outcome| {
            permit.reservation.as_deref() == Some("r1")
                && outcome.succeeded
                && outcome.usage == USAGE
        })
        .times(1)
        .return_const(());
    let service = f.service.clone().with_turn_guard(Arc::new(limiting));
    let reply = service
        .chat(f.scope, ask("hello", None, Some("tester")))
        .await
        .expect("answered");
    assert!(!reply.tools_available.contains(&"echo".to_owned()));
    assert!(!f.model.requests()[0].tools.iter().any(|t| t.name == "echo"));
    assert_eq!(
        f.model.requests()[0].max_output_tokens,
        Some(50),
        "the permit's tokens cap the model call"
    );
}

#[tokio::test]
async fn without_a_model_provider_chat_is_refused_before_anything_is_stored() {
    let f = fixture(vec![]);
    let runtime = AgentRuntime::without_model(
        Arc::new(test_catalog()),
        Arc::new(test_registry()),
        RuntimeSettings::default(),
    );
    let service = ChatService::new(
        Arc::new(runtime),
        f.store.clone(),
        Arc::new(SystemClock),
        ChatSettings::default(),
    );
    let key = ConversationKey::generate();
    let result = service.start(f.scope, ask("hello", Some(&key), None)).await;
    assert!(matches!(result, Err(ChatError::LlmUnavailable(_))));
    assert!(f.store.messages(f.scope.tenant_id, &key).is_empty());
}

#[tokio::test]
async fn a_model_error_mid_stream_ends_the_events_with_an_error_and_keeps_the_question() {
    use agents_domain::llm::ModelEvent;
    let broken = Reply::Stream(vec![
        Ok(ModelEvent::TextDelta("Hal".into())),
        Err(LlmError::Timeout),
    ]);
    let f = fixture(vec![broken]);
    let mut run = f
        .service
        .start(f.scope, ask("hello", None, None))
        .await
        .expect("accepted");
    let key = run.conversation_id.clone();
    let mut events = Vec::new();
    while let Some(event) = run.next().await {
        events.push(event);
    }
    assert_eq!(
        events,
        [
            ChatEvent::Delta("Hal".into()),
            ChatEvent::Error(ChatError::LlmTimeout)
        ]
    );
    let stored = f.store.messages(f.scope.tenant_id, &key);
    assert_eq!((stored.len(), stored[0].role), (1, MessageRole::User));
}
