//! The `ApiKeyStore` contract, run against the in-memory store, SQLite and
//! Postgres: lookup by prefix, revocation, counters that hold under
//! concurrency, and conversations that belong to a key.

mod contract;

use agents_domain::ApiKeyId;
use agents_domain::api_key::{ApiKey, ApiKeyError, KeyTurn, KeyUsage, NewApiKey, Scope};
use agents_domain::conversation::{ConversationError, ConversationScope, PageRequest};
use agents_domain::{TenantId, UserId};

use contract::{Fixture, at, key, register, user_message};

fn new_key(
    tenant: TenantId,
    prefix: &str,
    messages: Option<i64>,
    tokens: Option<i64>,
) -> NewApiKey {
    NewApiKey {
        key: ApiKey {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            name: format!("key {prefix}"),
            prefix: prefix.into(),
            scopes: vec![Scope::Chat, Scope::ConversationsRead],
            created_at: at(0),
            expires_at: Some(at(86_400)),
            revoked_at: None,
            last_used_at: None,
            rate_limit_per_minute: Some(30),
            monthly_message_limit: messages,
            monthly_token_limit: tokens,
            created_by: None,
        },
        hash: format!("hash-of-{prefix}"),
    }
}

async fn keys_are_found_by_prefix_listed_and_revoked_in_their_tenant(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (_, other) = register(&f, "bob").await;
    let mut made = new_key(tenant, "agk_aaaaaaaa", None, None);
    made.key.created_by = Some(alice);
    let stored = f.api_keys.create(made.clone()).await.expect("create");
    assert_eq!(stored, made.key);
    let clash = f
        .api_keys
        .create(new_key(other, "agk_aaaaaaaa", None, None))
        .await;
    assert!(matches!(clash, Err(ApiKeyError::PrefixTaken)), "{clash:?}");
    let orphan = f
        .api_keys
        .create(new_key(TenantId::new(), "agk_bbbbbbbb", None, None))
        .await;
    assert!(
        matches!(orphan, Err(ApiKeyError::TenantNotFound)),
        "{orphan:?}"
    );

    let found = f
        .api_keys
        .lookup("agk_aaaaaaaa")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(
        (found.key.clone(), found.hash.as_str()),
        (made.key.clone(), "hash-of-agk_aaaaaaaa")
    );
    assert_eq!(found.tenant.id, tenant);
    assert!(
        f.api_keys
            .lookup("agk_zzzzzzzz")
            .await
            .expect("lookup")
            .is_none()
    );

    f.api_keys.touch(made.key.id, at(60)).await.expect("touch");
    let month = at(0);
    let listed = f.api_keys.list(tenant, month).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.last_used_at, Some(at(60)));
    assert_eq!(listed[0].1, KeyUsage::default());
    assert!(
        f.api_keys
            .list(other, month)
            .await
            .expect("list")
            .is_empty()
    );

    let wrong = f.api_keys.revoke(Some(other), made.key.id, at(100)).await;
    assert!(
        matches!(wrong, Err(ApiKeyError::NotFound)),
        "another tenant cannot revoke it"
    );
    let revoked = f
        .api_keys
        .revoke(Some(tenant), made.key.id, at(100))
        .await
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(at(100)));
    let again = f
        .api_keys
        .revoke(None, made.key.id, at(200))
        .await
        .expect("revoke again");
    assert_eq!(
        again.revoked_at,
        Some(at(100)),
        "the first revocation time stays"
    );
    let found = f
        .api_keys
        .lookup("agk_aaaaaaaa")
        .await
        .expect("lookup")
        .expect("found");
    assert!(!found.key.is_usable(at(101)));
    let missing = f.api_keys.revoke(None, ApiKeyId::new(), at(1)).await;
    assert!(matches!(missing, Err(ApiKeyError::NotFound)));
}

async fn budgets_count_turns_give_them_back_and_refuse_past_either_limit(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let made = new_key(tenant, "agk_budget01", Some(2), Some(100));
    let id = made.key.id;
    f.api_keys.create(made).await.expect("create");
    let month = at(0);
    let reserve = || f.api_keys.reserve_turn(id, month);
    assert_eq!(
        reserve().await.expect("1"),
        KeyTurn::Reserved {
            tokens_left: Some(100)
        }
    );
    assert_eq!(
        reserve().await.expect("2"),
        KeyTurn::Reserved {
            tokens_left: Some(100)
        }
    );
    assert_eq!(
        reserve().await.expect("3"),
        KeyTurn::MessagesUsedUp { limit: 2 }
    );
    f.api_keys.release_turn(id, month).await.expect("give back");
    f.api_keys
        .record_tokens(id, month, 60)
        .await
        .expect("tokens");
    assert_eq!(
        reserve().await.expect("4"),
        KeyTurn::Reserved {
            tokens_left: Some(40)
        }
    );
    f.api_keys.release_turn(id, month).await.expect("give back");
    f.api_keys
        .record_tokens(id, month, 40)
        .await
        .expect("tokens");
    assert_eq!(
        reserve().await.expect("5"),
        KeyTurn::TokensUsedUp { limit: 100 }
    );
    let listed = f.api_keys.list(tenant, month).await.expect("list");
    assert_eq!(
        listed[0].1,
        KeyUsage {
            messages: 1,
            tokens: 100
        }
    );
    // Another month starts from zero.
    assert_eq!(
        f.api_keys
            .reserve_turn(id, at(40 * 86_400))
            .await
            .expect("next month"),
        KeyTurn::Reserved {
            tokens_left: Some(100)
        }
    );
    let unknown = f.api_keys.reserve_turn(ApiKeyId::new(), month).await;
    assert!(matches!(unknown, Err(ApiKeyError::NotFound)));
}

async fn concurrent_turns_never_pass_a_message_budget(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let made = new_key(tenant, "agk_concurr1", Some(3), None);
    let id = made.key.id;
    f.api_keys.create(made).await.expect("create");
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = f.api_keys.clone();
            tokio::spawn(async move { store.reserve_turn(id, at(0)).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        if matches!(
            task.await.expect("join").expect("reserve"),
            KeyTurn::Reserved { .. }
        ) {
            granted += 1;
        }
    }
    assert_eq!(granted, 3);
}

async fn a_keys_conversations_are_its_own_and_its_admins(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (first, second) = (
        new_key(tenant, "agk_owner001", None, None),
        new_key(tenant, "agk_owner002", None, None),
    );
    let (first, second) = (first.key.id, {
        f.api_keys.create(first).await.expect("first");
        f.api_keys.create(second.clone()).await.expect("second");
        second.key.id
    });
    let as_key = |id: ApiKeyId| ConversationScope {
        tenant_id: tenant,
        user_id: UserId::from_uuid(id.as_uuid()),
        include_unowned: false,
        api_key: Some(id),
    };
    let as_user = |include_unowned| ConversationScope {
        tenant_id: tenant,
        user_id: alice,
        include_unowned,
        api_key: None,
    };
    let appended = f
        .conversations
        .append(
            as_key(first),
            &key("from-a-script"),
            user_message("hello", 1),
            Default::default(),
        )
        .await
        .expect("append");
    assert_eq!(appended.position, 0);
    let mine = f
        .conversations
        .find(as_key(first), &key("from-a-script"))
        .await
        .expect("find");
    assert_eq!(
        mine.expect("the key sees it").user_id,
        None,
        "it belongs to no user"
    );
    let page = PageRequest { page: 1, limit: 10 };
    assert_eq!(
        f.conversations
            .list(as_key(first), page)
            .await
            .expect("list")
            .total,
        1
    );
    assert_eq!(
        f.conversations
            .list(as_key(second), page)
            .await
            .expect("list")
            .total,
        0
    );
    assert!(
        f.conversations
            .find(as_key(second), &key("from-a-script"))
            .await
            .expect("find")
            .is_none()
    );
    let err = f
        .conversations
        .append(
            as_key(second),
            &key("from-a-script"),
            user_message("mine?", 2),
            Default::default(),
        )
        .await
        .expect_err("another key cannot write to it");
    assert!(matches!(err, ConversationError::NotFound));
    assert!(
        f.conversations
            .find(as_user(false), &key("from-a-script"))
            .await
            .expect("find")
            .is_none(),
        "viewers do not see it"
    );
    assert!(
        f.conversations
            .find(as_user(true), &key("from-a-script"))
            .await
            .expect("find")
            .is_some(),
        "admins do"
    );
    // The key does not see its tenant's other conversations.
    f.conversations
        .append(
            as_user(true),
            &key("alices"),
            user_message("hi", 3),
            Default::default(),
        )
        .await
        .expect("alice's");
    assert_eq!(
        f.conversations
            .list(as_key(first), page)
            .await
            .expect("list")
            .total,
        1
    );
}

contract_tests!(
    keys_are_found_by_prefix_listed_and_revoked_in_their_tenant,
    budgets_count_turns_give_them_back_and_refuse_past_either_limit,
    concurrent_turns_never_pass_a_message_budget,
    a_keys_conversations_are_its_own_and_its_admins,
);
