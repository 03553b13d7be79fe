//! The `AccountStore` contract, run against the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::account::{AccountError, Role, TenantRef};
use contract::{Fixture, at, new_tenant, new_user, register};

async fn register_then_find_credentials_by_username_or_email(f: Fixture) {
    let (user, tenant) = register(&f, "alice").await;
    let (found, hash) = f
        .accounts
        .find_credentials("alice")
        .await
        .expect("find")
        .expect("known");
    assert_eq!(
        (found.id, found.home_tenant_id, found.is_active),
        (user, Some(tenant), true)
    );
    assert_eq!(hash, "$argon2id$hash-of-alice");
    let (by_email, _) = f
        .accounts
        .find_credentials("ALICE@Example.com")
        .await
        .expect("find")
        .expect("known");
    assert_eq!(by_email.id, user);
    assert!(
        f.accounts
            .find_credentials("nobody")
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(
        f.accounts
            .find_user(user)
            .await
            .expect("find")
            .map(|u| u.username),
        Some("alice".into())
    );
    assert_eq!(
        f.accounts
            .find_user_by_login("alice@example.com")
            .await
            .expect("find")
            .map(|u| u.id),
        Some(user)
    );
    let tenants = f.accounts.tenants_of(user).await.expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(
        (tenants[0].tenant.slug.as_str(), tenants[0].role),
        ("alice-home", Role::Owner)
    );
    assert!(f.accounts.slug_exists("alice-home").await.expect("slug"));
}

async fn twenty_concurrent_registrations_of_one_username_give_exactly_one(f: Fixture) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let accounts = f.accounts.clone();
            tokio::spawn(async move {
                let mut user = new_user("racer");
                user.email = agents_domain::account::Email::parse(&format!("racer{i}@example.com"))
                    .expect("email");
                accounts
                    .register(user, new_tenant(&format!("racer-{i}")))
                    .await
            })
        })
        .collect();
    let (mut ok, mut taken) = (0, 0);
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => ok += 1,
            Err(AccountError::UsernameTaken) => taken += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, taken), (1, 19));
}

async fn taken_email_and_slug_are_typed_errors(f: Fixture) {
    register(&f, "alice").await;
    let mut same_email = new_user("alice2");
    same_email.email = agents_domain::account::Email::parse("Alice@example.com").expect("email");
    let err = f
        .accounts
        .register(same_email, new_tenant("other-slug"))
        .await;
    assert!(matches!(err, Err(AccountError::EmailTaken)), "{err:?}");
    let err = f
        .accounts
        .register(new_user("carol"), new_tenant("alice-home"))
        .await;
    assert!(matches!(err, Err(AccountError::SlugTaken)), "{err:?}");
    // The failed registrations left nothing behind.
    assert!(
        f.accounts
            .find_user_by_login("carol")
            .await
            .expect("find")
            .is_none()
    );
    let (carol, _) = register(&f, "carol").await;
    let err = f
        .accounts
        .create_tenant(new_tenant("alice-home"), carol, None)
        .await;
    assert!(matches!(err, Err(AccountError::SlugTaken)), "{err:?}");
}

async fn auth_context_resolves_tenant_by_id_slug_and_default(f: Fixture) {
    let (alice, home) = register(&f, "alice").await;
    let (bob, bob_home) = register(&f, "bob").await;
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Default)
        .await
        .expect("ctx")
        .expect("user");
    assert_eq!(
        ctx.tenant.as_ref().map(|(t, r)| (t.id, *r)),
        Some((home, Role::Owner))
    );
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Slug("alice-home".into()))
        .await
        .expect("ctx")
        .expect("user");
    assert_eq!(ctx.tenant.map(|(t, _)| t.id), Some(home));
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Id(bob_home))
        .await
        .expect("ctx")
        .expect("user");
    assert!(ctx.tenant.is_none(), "not a member of bob's tenant");
    f.accounts
        .add_member(bob_home, alice, Role::Viewer, at(10))
        .await
        .expect("add");
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Id(bob_home))
        .await
        .expect("ctx")
        .expect("user");
    assert_eq!(
        ctx.tenant.map(|(t, r)| (t.slug, r)),
        Some(("bob-home".into(), Role::Viewer))
    );
    // Removed from the home tenant: the default falls back to the first joined.
    f.accounts
        .add_member(home, bob, Role::Owner, at(11))
        .await
        .expect("add");
    f.accounts.remove_member(home, alice).await.expect("remove");
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Default)
        .await
        .expect("ctx")
        .expect("user");
    assert_eq!(ctx.tenant.map(|(t, _)| t.id), Some(bob_home));
    f.accounts
        .set_active(alice, false)
        .await
        .expect("deactivate");
    let ctx = f
        .accounts
        .auth_context(alice, &TenantRef::Default)
        .await
        .expect("ctx")
        .expect("user");
    assert!(!ctx.is_active);
    assert!(
        f.accounts
            .auth_context(agents_domain::UserId::new(), &TenantRef::Default)
            .await
            .expect("ctx")
            .is_none()
    );
    assert!(matches!(
        f.accounts
            .set_active(agents_domain::UserId::new(), true)
            .await,
        Err(AccountError::NotFound)
    ));
}

async fn memberships_keep_at_least_one_owner(f: Fixture) {
    let (alice, tenant) = register(&f, "alice").await;
    let (bob, _) = register(&f, "bob").await;
    assert!(matches!(
        f.accounts.change_role(tenant, alice, Role::Admin).await,
        Err(AccountError::LastOwner)
    ));
    assert!(matches!(
        f.accounts.remove_member(tenant, alice).await,
        Err(AccountError::LastOwner)
    ));
    let added = f
        .accounts
        .add_member(tenant, bob, Role::Admin, at(5))
        .await
        .expect("add");
    assert_eq!(
        (added.username.as_str(), added.role, added.joined_at),
        ("bob", Role::Admin, at(5))
    );
    assert!(matches!(
        f.accounts
            .add_member(tenant, bob, Role::Viewer, at(6))
            .await,
        Err(AccountError::AlreadyMember)
    ));
    let missing = f
        .accounts
        .add_member(tenant, agents_domain::UserId::new(), Role::Viewer, at(6))
        .await;
    assert!(
        matches!(missing, Err(AccountError::NotFound)),
        "{missing:?}"
    );
    assert_eq!(
        f.accounts
            .change_role(tenant, bob, Role::Owner)
            .await
            .expect("promote")
            .role,
        Role::Owner
    );
    assert_eq!(
        f.accounts
            .change_role(tenant, alice, Role::Viewer)
            .await
            .expect("demote")
            .role,
        Role::Viewer
    );
    let members = f.accounts.members(tenant).await.expect("members");
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.username.as_str(), m.role))
        .collect();
    assert_eq!(roles, vec![("alice", Role::Viewer), ("bob", Role::Owner)]);
    assert!(matches!(
        f.accounts.remove_member(tenant, bob).await,
        Err(AccountError::LastOwner)
    ));
    f.accounts
        .remove_member(tenant, alice)
        .await
        .expect("remove viewer");
    assert!(matches!(
        f.accounts.remove_member(tenant, alice).await,
        Err(AccountError::NotFound)
    ));
    assert!(matches!(
        f.accounts.change_role(tenant, alice, Role::Admin).await,
        Err(AccountError::NotFound)
    ));
}

async fn ensure_tenant_is_idempotent_under_concurrency(f: Fixture) {
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let accounts = f.accounts.clone();
            tokio::spawn(async move { accounts.ensure_tenant(new_tenant("default")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("join").expect("ensure").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller gets the same tenant");
}

async fn fifty_concurrent_creations_by_one_user_never_pass_the_ownership_limit(f: Fixture) {
    let (alice, _) = register(&f, "alice").await;
    let (bob, _) = register(&f, "bob").await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let accounts = f.accounts.clone();
            tokio::spawn(async move {
                accounts
                    .create_tenant(new_tenant(&format!("alice-team-{i}")), alice, Some(10))
                    .await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => created += 1,
            Err(AccountError::TenantLimitReached) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // The personal tenant counts: nine more make ten.
    assert_eq!((created, refused), (9, 41));
    let owned = f.accounts.tenants_of(alice).await.expect("tenants");
    assert_eq!(owned.len(), 10);
    // Another user is not affected, and no limit means no limit.
    f.accounts
        .create_tenant(new_tenant("bob-team"), bob, Some(2))
        .await
        .expect("bob's second");
    let third = f
        .accounts
        .create_tenant(new_tenant("bob-team-2"), bob, Some(2))
        .await;
    assert!(
        matches!(third, Err(AccountError::TenantLimitReached)),
        "{third:?}"
    );
    f.accounts
        .create_tenant(new_tenant("bob-team-3"), bob, None)
        .await
        .expect("unlimited");
}

contract_tests!(
    register_then_find_credentials_by_username_or_email,
    twenty_concurrent_registrations_of_one_username_give_exactly_one,
    taken_email_and_slug_are_typed_errors,
    auth_context_resolves_tenant_by_id_slug_and_default,
    memberships_keep_at_least_one_owner,
    ensure_tenant_is_idempotent_under_concurrency,
    fifty_concurrent_creations_by_one_user_never_pass_the_ownership_limit,
);
