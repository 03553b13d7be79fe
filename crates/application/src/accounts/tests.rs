//! Account use cases over mocked ports.

use std::sync::Arc;

use agents_domain::account::{
    AccessClaims, AccountError, AuthContext, MockAccountStore, MockPasswordHasher,
    MockRefreshTokenStore, MockTokenIssuer, Role, Tenant, TenantRef, TokenError, User,
};
use agents_domain::clock::SystemClock;
use agents_domain::limiter::MockRateLimiter;
use agents_domain::{TenantId, UserId};
use time::OffsetDateTime;

use super::*;

struct Mocks {
    store: MockAccountStore,
    tokens: MockRefreshTokenStore,
    hasher: MockPasswordHasher,
    issuer: MockTokenIssuer,
    limiter: MockRateLimiter,
}

impl Mocks {
    fn new() -> Self {
        let mut issuer = MockTokenIssuer::new();
        issuer.expect_lifetime_seconds().return_const(1800_i64);
        issuer
            .expect_generate_refresh_token()
            .returning(|| "next-token".into());
        issuer
            .expect_hash_refresh_token()
            .returning(|t| format!("h({t})"));
        issuer
            .expect_successor_refresh_token()
            .returning(|t| format!("succ({t})"));
        Self {
            store: MockAccountStore::new(),
            tokens: MockRefreshTokenStore::new(),
            hasher: MockPasswordHasher::new(),
            issuer,
            limiter: MockRateLimiter::new(),
        }
    }

    fn service(self) -> AccountService {
        AccountService::new(
            Arc::new(self.store),
            Arc::new(self.tokens),
            Arc::new(self.hasher),
            Arc::new(self.issuer),
            Arc::new(self.limiter),
            Arc::new(SystemClock),
            AccountSettings::default(),
        )
    }
}

fn user(active: bool) -> User {
    User {
        id: UserId::new(),
        username: "alice".into(),
        email: "alice@example.com".into(),
        display_name: None,
        is_active: active,
        home_tenant_id: None,
        created_at: OffsetDateTime::now_utc(),
    }
}

fn tenant() -> Tenant {
    Tenant {
        id: TenantId::new(),
        slug: "alice".into(),
        name: "alice".into(),
        created_at: OffsetDateTime::now_utc(),
    }
}

fn claims(sub: UserId) -> AccessClaims {
    AccessClaims {
        sub: sub.to_string(),
        iat: 0,
        exp: 0,
        jti: "j".into(),
        iss: "i".into(),
        aud: "a".into(),
    }
}

#[tokio::test]
async fn registration_lists_every_invalid_field_and_stores_nothing() {
    // No expectation on the mocks: nothing reaches the store or the hasher.
    let fields = RegisterInput::parse("a", "nope", "short", None).expect_err("invalid");
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["username", "email", "password"]);
}

#[tokio::test]
async fn a_taken_slug_is_retried_with_a_suffix() {
    let mut mocks = Mocks::new();
    mocks
        .hasher
        .expect_hash()
        .returning(|_| Ok("$argon2id$fake".into()));
    let mut calls = 0;
    mocks
        .store
        .expect_register()
        .times(2)
        .returning(move |new_user, new_tenant| {
            calls += 1;
            if calls == 1 {
                assert_eq!(new_tenant.slug.as_str(), "alice");
                return Err(AccountError::SlugTaken);
            }
            assert!(
                new_tenant.slug.as_str().starts_with("alice-"),
                "{}",
                new_tenant.slug.as_str()
            );
            assert_eq!(
                new_user.password_hash, "$argon2id$fake",
                "only the hash is stored"
            );
            Ok((user(true), tenant()))
        });
    let registered = mocks
        .service()
        .register(
            RegisterInput::parse("alice", "alice@example.com", "correct horse", Some("Alice"))
                .expect("valid"),
        )
        .await
        .expect("registered");
    assert_eq!(registered.role, Role::Owner);
}

#[tokio::test]
async fn authentication_refuses_bad_tokens_inactive_users_and_non_members() {
    let mut mocks = Mocks::new();
    mocks
        .issuer
        .expect_verify()
        .returning(|_| Err(TokenError::Invalid));
    let err = mocks
        .service()
        .authenticate("garbage", &TenantRef::Default)
        .await
        .expect_err("401");
    assert!(matches!(err, AuthError::Unauthenticated));

    let id = UserId::new();
    let mut mocks = Mocks::new();
    mocks
        .issuer
        .expect_verify()
        .returning(move |_| Ok(claims(id)));
    mocks.store.expect_auth_context().returning(move |_, _| {
        Ok(Some(AuthContext {
            user_id: id,
            is_active: false,
            tenant: Some((tenant(), Role::Owner)),
        }))
    });
    let err = mocks
        .service()
        .authenticate("t", &TenantRef::Default)
        .await
        .expect_err("inactive");
    assert!(matches!(err, AuthError::Unauthenticated));

    let mut mocks = Mocks::new();
    mocks
        .issuer
        .expect_verify()
        .returning(move |_| Ok(claims(id)));
    mocks.store.expect_auth_context().returning(move |_, _| {
        Ok(Some(AuthContext {
            user_id: id,
            is_active: true,
            tenant: None,
        }))
    });
    let err = mocks
        .service()
        .authenticate("t", &TenantRef::Slug("other".into()))
        .await
        .expect_err("403");
    assert!(matches!(err, AuthError::NotAMember));
}

fn caller(role: Role) -> Caller {
    Caller {
        user_id: UserId::new(),
        claims: claims(UserId::new()),
        tenant: Some((tenant(), role)),
        api_key: None,
    }
}

#[tokio::test]
async fn role_rules_for_adding_members() {
    let service = Mocks::new().service();
    let err = service
        .add_member(&caller(Role::Viewer), "bob", Role::Viewer)
        .await
        .expect_err("viewer");
    assert!(matches!(err, TenantError::Forbidden));
    let err = service
        .add_member(&caller(Role::Admin), "bob", Role::Owner)
        .await
        .expect_err("admin->owner");
    assert!(matches!(err, TenantError::Forbidden));
    let err = service
        .change_role(
            &caller(Role::Admin),
            MemberChange {
                user_id: UserId::new(),
                role: Role::Viewer,
            },
        )
        .await
        .expect_err("admin cannot change roles");
    assert!(matches!(err, TenantError::Forbidden));
    let err = service
        .remove_member(&caller(Role::Admin), UserId::new())
        .await
        .expect_err("admin cannot remove");
    assert!(matches!(err, TenantError::Forbidden));
}

mod login;
