//! The `ConversationStore` contract, reads: who sees what, paging, search
//! and delete; on the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::conversation::{ConversationError, ConversationScope, PageRequest};
use contract::{Fixture, at, key, register, scope, update, user_message};

async fn another_users_conversation_is_not_found(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (bob, _) = register(&f, "bob").await;
    let k = key("private");
    f.conversations
        .append(
            scope(tenant, alice),
            &k,
            user_message("secret", 1),
            update(),
        )
        .await
        .expect("append");
    // Bob, even as an admin of Alice's tenant, cannot reach Alice's own conversation.
    for include_unowned in [false, true] {
        let bob_scope = ConversationScope {
            tenant_id: tenant,
            user_id: bob,
            api_key: None,
            include_unowned,
        };
        let err = f
            .conversations
            .append(bob_scope, &k, user_message("hijack", 2), update())
            .await;
        assert!(
            matches!(err, Err(ConversationError::NotFound)),
            "append by another user must be NotFound"
        );
        assert!(
            f.conversations
                .find(bob_scope, &k)
                .await
                .expect("find")
                .is_none()
        );
        assert!(
            f.conversations
                .history(bob_scope, &k)
                .await
                .expect("history")
                .is_none()
        );
        assert!(
            f.conversations
                .recent_messages(bob_scope, &k, 10)
                .await
                .expect("recent")
                .is_empty()
        );
        assert!(!f.conversations.delete(bob_scope, &k).await.expect("delete"));
        let page = f
            .conversations
            .list(bob_scope, PageRequest { page: 1, limit: 20 })
            .await
            .expect("list");
        assert_eq!(page.total, 0);
    }
    let c = f
        .conversations
        .find(scope(tenant, alice), &k)
        .await
        .expect("find")
        .expect("still there");
    assert_eq!(c.message_count, 1, "the refused append stored nothing");
}

async fn unowned_conversations_are_visible_to_admins_only(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    f.seed_unowned(tenant, "legacy-1", "from the python service")
        .await;
    let viewer = scope(tenant, alice);
    let admin = ConversationScope {
        include_unowned: true,
        ..viewer
    };
    assert!(
        f.conversations
            .find(viewer, &key("legacy-1"))
            .await
            .expect("find")
            .is_none()
    );
    assert!(matches!(
        f.conversations
            .append(viewer, &key("legacy-1"), user_message("x", 200), update())
            .await,
        Err(ConversationError::NotFound)
    ));
    let c = f
        .conversations
        .find(admin, &key("legacy-1"))
        .await
        .expect("find")
        .expect("admin sees it");
    assert_eq!(c.user_id, None);
    let appended = f
        .conversations
        .append(
            admin,
            &key("legacy-1"),
            user_message("continued", 200),
            update(),
        )
        .await;
    let appended = appended.expect("admin continues it");
    assert_eq!(
        (
            appended.position,
            appended.created,
            appended.conversation.user_id
        ),
        (1, false, None)
    );
    assert_eq!(
        f.conversations
            .list(viewer, PageRequest { page: 1, limit: 10 })
            .await
            .expect("list")
            .total,
        0
    );
    assert_eq!(
        f.conversations
            .list(admin, PageRequest { page: 1, limit: 10 })
            .await
            .expect("list")
            .total,
        1
    );
    assert!(
        f.conversations
            .search(viewer, "python", 10)
            .await
            .expect("search")
            .is_empty()
    );
    assert_eq!(
        f.conversations
            .search(admin, "python", 10)
            .await
            .expect("search")
            .len(),
        1
    );
    assert!(
        !f.conversations
            .delete(viewer, &key("legacy-1"))
            .await
            .expect("delete")
    );
    assert!(
        f.conversations
            .delete(admin, &key("legacy-1"))
            .await
            .expect("delete")
    );
}

async fn list_pages_newest_first_with_total(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (bob, _) = register(&f, "bob").await;
    let s = scope(tenant, alice);
    for i in 0..5 {
        let text = if i == 4 {
            "x".repeat(200)
        } else {
            format!("message {i}")
        };
        f.conversations
            .append(s, &key(&format!("c{i}")), user_message(&text, i), update())
            .await
            .expect("append");
    }
    f.conversations
        .append(
            scope(tenant, bob),
            &key("bobs"),
            user_message("b", 9),
            update(),
        )
        .await
        .expect("append");
    let first = f
        .conversations
        .list(s, PageRequest { page: 1, limit: 2 })
        .await
        .expect("list");
    assert_eq!(first.total, 5);
    assert_eq!(
        first
            .items
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        vec!["c4", "c3"]
    );
    assert_eq!(
        first.items[0].last_message.as_deref(),
        Some("x".repeat(120).as_str())
    );
    assert_eq!(first.items[1].last_message.as_deref(), Some("message 3"));
    assert_eq!(
        (first.items[1].message_count, first.items[1].updated_at),
        (1, at(3))
    );
    let last = f
        .conversations
        .list(s, PageRequest { page: 3, limit: 2 })
        .await
        .expect("list");
    assert_eq!(
        last.items
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        vec!["c0"]
    );
    assert_eq!(last.total, 5);
    // A continued conversation moves to the top.
    f.conversations
        .append(s, &key("c0"), user_message("again", 50), update())
        .await
        .expect("append");
    let top = f
        .conversations
        .list(s, PageRequest { page: 1, limit: 1 })
        .await
        .expect("list");
    assert_eq!(top.items[0].key.as_str(), "c0");
    assert_eq!(top.items[0].last_message.as_deref(), Some("again"));
}

async fn search_is_case_insensitive_and_scoped(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (bob, bob_tenant) = register(&f, "bob").await;
    let s = scope(tenant, alice);
    f.conversations
        .append(
            s,
            &key("greeting"),
            user_message("Well, Hello World!", 1),
            update(),
        )
        .await
        .expect("a");
    f.conversations
        .append(s, &key("other"), user_message("nothing here", 2), update())
        .await
        .expect("a");
    f.conversations
        .append(s, &key("percent"), user_message("100% sure", 3), update())
        .await
        .expect("a");
    f.conversations
        .append(
            scope(tenant, bob),
            &key("bob-1"),
            user_message("hello bob", 4),
            update(),
        )
        .await
        .expect("b");
    f.conversations
        .append(
            scope(bob_tenant, bob),
            &key("bob-2"),
            user_message("hello", 5),
            update(),
        )
        .await
        .expect("b");
    let hits = f
        .conversations
        .search(s, "HELLO world", 10)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key.as_str(), "greeting");
    assert!(hits[0].preview.contains("Hello World"));
    let by_key = f
        .conversations
        .search(s, "GREET", 10)
        .await
        .expect("search");
    assert_eq!(
        by_key.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
        vec!["greeting"]
    );
    let literal = f.conversations.search(s, "0%", 10).await.expect("search");
    assert_eq!(
        literal.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
        vec!["percent"]
    );
    assert!(
        f.conversations
            .search(s, "%", 10)
            .await
            .expect("search")
            .len()
            == 1
    );
    let limited = f.conversations.search(s, "e", 2).await.expect("search");
    assert_eq!(
        limited.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
        vec!["percent", "other"]
    );
}

async fn delete_removes_the_conversation_and_its_messages(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let s = scope(tenant, alice);
    f.conversations
        .append(s, &key("gone"), user_message("one", 1), update())
        .await
        .expect("append");
    f.conversations
        .append(s, &key("gone"), user_message("two", 2), update())
        .await
        .expect("append");
    assert!(
        f.conversations
            .delete(s, &key("gone"))
            .await
            .expect("delete")
    );
    assert!(
        !f.conversations
            .delete(s, &key("gone"))
            .await
            .expect("delete")
    );
    assert!(
        f.conversations
            .find(s, &key("gone"))
            .await
            .expect("find")
            .is_none()
    );
    let again = f
        .conversations
        .append(s, &key("gone"), user_message("new", 3), update())
        .await
        .expect("append");
    assert!(again.created);
    assert_eq!(again.position, 0);
}

contract_tests!(
    another_users_conversation_is_not_found,
    unowned_conversations_are_visible_to_admins_only,
    list_pages_newest_first_with_total,
    search_is_case_insensitive_and_scoped,
    delete_removes_the_conversation_and_its_messages,
);
