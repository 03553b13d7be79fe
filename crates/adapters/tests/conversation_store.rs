//! The `ConversationStore` contract, writes: appends, counters, positions
//! under concurrency, tenants, retries; on the in-memory store, SQLite and
//! Postgres.

mod contract;

use agents_domain::conversation::{
    ConversationUpdate, MessageContent, MessageRole, NewMessage, ToolCallRecord,
};
use contract::{Fixture, at, key, register, scope, update, user_message};

async fn append_creates_then_continues_with_counters(f: Fixture) {
    let (user, tenant) = register(&f, "alice").await;
    let s = scope(tenant, user);
    let k = key("chat-1");
    let first = f
        .conversations
        .append(s, &k, user_message("hello", 1), update())
        .await
        .expect("append");
    assert!(first.created);
    assert_eq!(first.position, 0);
    assert_eq!(first.conversation.user_id, Some(user));
    assert_eq!(first.conversation.active_agent.as_deref(), Some("triage"));
    let answer = NewMessage {
        role: MessageRole::Assistant,
        agent_type: Some("code_assistant".into()),
        content: MessageContent {
            text: "hi there".into(),
            tool_calls: vec![ToolCallRecord {
                name: "get_current_time".into(),
                arguments: serde_json::json!({"tz": "UTC"}),
                result_preview: "12:00".into(),
            }],
            cancelled: false,
        },
        token_count_prompt: Some(10),
        token_count_completion: Some(5),
        latency_ms: Some(42),
        run_id: Some("run-1".into()),
        created_at: at(2),
    };
    let turn = ConversationUpdate {
        entrypoint: "triage".into(),
        active_agent: Some("code_assistant".into()),
        add_prompt_tokens: 10,
        add_completion_tokens: 5,
        add_handoffs: 1,
    };
    let second = f
        .conversations
        .append(s, &k, answer.clone(), turn)
        .await
        .expect("append");
    assert!(!second.created);
    assert_eq!(second.position, 1);
    let c = f
        .conversations
        .find(s, &k)
        .await
        .expect("find")
        .expect("visible");
    assert_eq!(c.id, first.conversation.id);
    assert_eq!(
        (
            c.message_count,
            c.total_tokens_prompt,
            c.total_tokens_completion,
            c.handoff_count
        ),
        (2, 10, 5, 1)
    );
    assert_eq!(c.agent_entrypoint, "triage");
    assert_eq!(c.active_agent.as_deref(), Some("code_assistant"));
    assert_eq!(c.last_message_at, Some(at(2)));
    assert_eq!((c.created_at, c.updated_at), (at(1), at(2)));
    let (_, messages) = f
        .conversations
        .history(s, &k)
        .await
        .expect("history")
        .expect("visible");
    assert_eq!(
        messages.iter().map(|m| m.position).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(messages[0].content, MessageContent::text("hello"));
    assert_eq!(messages[1].content, answer.content);
    assert_eq!(messages[1].agent_type.as_deref(), Some("code_assistant"));
    assert_eq!(
        (messages[1].token_count_prompt, messages[1].latency_ms),
        (Some(10), Some(42))
    );
    assert_eq!(messages[1].created_at, at(2));
    let recent = f
        .conversations
        .recent_messages(s, &k, 1)
        .await
        .expect("recent");
    assert_eq!(
        recent.iter().map(|m| m.position).collect::<Vec<_>>(),
        vec![1]
    );
    let usage = f
        .conversations
        .agent_usage(tenant, "code_assistant")
        .await
        .expect("usage");
    assert_eq!(
        (usage.total_conversations, usage.last_used),
        (1, Some(at(2)))
    );
    let unused = f
        .conversations
        .agent_usage(tenant, "data_analyst")
        .await
        .expect("usage");
    assert_eq!((unused.total_conversations, unused.last_used), (0, None));
}

async fn fifty_concurrent_appends_get_positions_0_to_49(f: Fixture) {
    let (user, tenant) = register(&f, "alice").await;
    let s = scope(tenant, user);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = f.conversations.clone();
            tokio::spawn(async move {
                store
                    .append(s, &key("busy"), user_message(&format!("m{i}"), i), update())
                    .await
            })
        })
        .collect();
    let mut positions = Vec::new();
    let mut created = 0;
    for task in tasks {
        let appended = task.await.expect("join").expect("append");
        created += usize::from(appended.created);
        positions.push(appended.position);
    }
    positions.sort_unstable();
    assert_eq!(positions, (0..50).collect::<Vec<_>>());
    assert_eq!(created, 1, "exactly one append creates the conversation");
    let (c, messages) = f
        .conversations
        .history(s, &key("busy"))
        .await
        .expect("history")
        .expect("visible");
    assert_eq!(c.message_count, 50);
    assert_eq!(
        messages.iter().map(|m| m.position).collect::<Vec<_>>(),
        (0..50).collect::<Vec<_>>()
    );
    let last = f
        .conversations
        .recent_messages(s, &key("busy"), 20)
        .await
        .expect("recent");
    assert_eq!(
        last.iter().map(|m| m.position).collect::<Vec<_>>(),
        (30..50).collect::<Vec<_>>()
    );
}

async fn same_key_in_two_tenants_is_two_conversations(f: Fixture) {
    let (alice, a_tenant) = register(&f, "alice").await;
    let (bob, b_tenant) = register(&f, "bob").await;
    let k = key("0F8FAD5B-D9CB-469F-A165-70867728950E");
    let a = f
        .conversations
        .append(
            scope(a_tenant, alice),
            &k,
            user_message("from a", 1),
            update(),
        )
        .await
        .expect("a");
    let b = f
        .conversations
        .append(
            scope(b_tenant, bob),
            &k,
            user_message("from b", 2),
            update(),
        )
        .await
        .expect("b");
    assert!(a.created && b.created);
    assert_ne!(a.conversation.id, b.conversation.id);
    let (_, a_msgs) = f
        .conversations
        .history(scope(a_tenant, alice), &k)
        .await
        .expect("h")
        .expect("visible");
    assert_eq!(
        a_msgs
            .iter()
            .map(|m| m.content.text.as_str())
            .collect::<Vec<_>>(),
        vec!["from a"]
    );
    // Alice asking in Bob's tenant sees nothing.
    assert!(
        f.conversations
            .find(scope(b_tenant, alice), &k)
            .await
            .expect("find")
            .is_none()
    );
}

async fn an_append_sent_again_for_the_same_run_and_role_is_stored_once(f: Fixture) {
    let (user, tenant) = register(&f, "alice").await;
    let s = scope(tenant, user);
    let k = key("retried");
    let with_run = |role: MessageRole, text: &str, run: &str, seconds: i64| NewMessage {
        role,
        run_id: Some(run.into()),
        token_count_prompt: Some(7),
        ..user_message(text, seconds)
    };
    let counted = |tokens: i32| ConversationUpdate {
        add_prompt_tokens: tokens,
        ..update()
    };
    f.conversations
        .append(
            s,
            &k,
            with_run(MessageRole::User, "question", "r1", 1),
            update(),
        )
        .await
        .expect("question");
    let answer = f
        .conversations
        .append(
            s,
            &k,
            with_run(MessageRole::Assistant, "answer", "r1", 2),
            counted(7),
        )
        .await
        .expect("answer");
    assert_eq!(answer.position, 1);
    // The same run's answer again (a retry after a lost commit).
    let again = f
        .conversations
        .append(
            s,
            &k,
            with_run(MessageRole::Assistant, "answer", "r1", 3),
            counted(7),
        )
        .await
        .expect("retried answer");
    assert_eq!((again.position, again.created), (1, false));
    assert_eq!(again.conversation.message_count, 2);
    assert_eq!(again.conversation.total_tokens_prompt, 7, "counted once");
    // Another run, and messages without a run, are stored as usual.
    let next = f
        .conversations
        .append(
            s,
            &k,
            with_run(MessageRole::Assistant, "later", "r2", 4),
            counted(7),
        )
        .await
        .expect("another run");
    assert_eq!(next.position, 2);
    for seconds in [5, 6] {
        f.conversations
            .append(s, &k, user_message("no run", seconds), update())
            .await
            .expect("no run");
    }
    let (c, messages) = f
        .conversations
        .history(s, &k)
        .await
        .expect("history")
        .expect("visible");
    let texts: Vec<_> = messages.iter().map(|m| m.content.text.as_str()).collect();
    assert_eq!(texts, ["question", "answer", "later", "no run", "no run"]);
    assert_eq!((c.message_count, c.total_tokens_prompt), (5, 14));
}

contract_tests!(
    append_creates_then_continues_with_counters,
    fifty_concurrent_appends_get_positions_0_to_49,
    same_key_in_two_tenants_is_two_conversations,
    an_append_sent_again_for_the_same_run_and_role_is_stored_once,
);
