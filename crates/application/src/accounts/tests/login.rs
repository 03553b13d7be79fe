//! Login throttling and refresh rotation over mocked ports.

use std::time::Duration;

use agents_domain::account::{AccountError, RotateOutcome};
use agents_domain::limiter::RateDecision;

use super::*;

fn allowed() -> RateDecision {
    RateDecision::Allowed { remaining: 4 }
}

#[tokio::test]
async fn unknown_users_are_verified_against_the_dummy_hash_and_counted() {
    let mut mocks = Mocks::new();
    mocks
        .store
        .expect_find_credentials()
        .returning(|_| Ok(None));
    mocks
        .hasher
        .expect_verify()
        .withf(|_, hash| hash.is_none())
        .times(1)
        .returning(|_, _| Ok(false));
    // The address, then the presented name (no account matched).
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, limit, _| key == "login:addr:10.0.0.1" && *limit == 5)
        .times(1)
        .returning(|_, _, _| Ok(allowed()));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key == "login:name:Ghost")
        .times(1)
        .returning(|_, _, _| Ok(allowed()));
    mocks.limiter.expect_remembers().never();
    mocks.limiter.expect_release().never();
    let err = mocks
        .service()
        .login("Ghost", "whatever1", "10.0.0.1")
        .await
        .expect_err("401");
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn a_matching_account_is_counted_by_its_id_whatever_name_was_presented() {
    let mut mocks = Mocks::new();
    let alice = user(true);
    let key = format!("login:account:{}", alice.id);
    mocks
        .store
        .expect_find_credentials()
        .returning(move |_| Ok(Some((alice.clone(), "hash".into()))));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key.starts_with("login:addr:"))
        .returning(|_, _, _| Ok(allowed()));
    mocks
        .limiter
        .expect_acquire()
        .withf(move |k, _, _| k == key)
        .times(1)
        .returning(|_, _, _| Ok(allowed()));
    mocks.limiter.expect_remembers().returning(|_| Ok(false));
    mocks.hasher.expect_verify().returning(|_, _| Ok(false));
    let err = mocks
        .service()
        .login("alice@example.com", "wrong horse", "ip")
        .await
        .expect_err("401");
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn a_presented_name_is_bounded_in_the_key() {
    let mut mocks = Mocks::new();
    mocks
        .store
        .expect_find_credentials()
        .returning(|_| Ok(None));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key.starts_with("login:addr:"))
        .returning(|_, _, _| Ok(allowed()));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| *key == format!("login:name:{}", "é".repeat(256)))
        .times(1)
        .returning(|_, _, _| Ok(allowed()));
    mocks.hasher.expect_verify().returning(|_, _| Ok(false));
    mocks
        .service()
        .login(&"é".repeat(5000), "pw", "ip")
        .await
        .expect_err("401");
}

#[tokio::test]
async fn an_inactive_user_with_the_right_password_is_refused_like_a_wrong_one() {
    let mut mocks = Mocks::new();
    mocks
        .store
        .expect_find_credentials()
        .returning(|_| Ok(Some((user(false), "hash".into()))));
    mocks.hasher.expect_verify().returning(|_, _| Ok(true));
    mocks
        .limiter
        .expect_acquire()
        .returning(|_, _, _| Ok(allowed()));
    mocks.limiter.expect_remembers().returning(|_| Ok(false));
    mocks.limiter.expect_release().never();
    mocks.limiter.expect_remember().never();
    let err = mocks
        .service()
        .login("alice", "correct horse", "ip")
        .await
        .expect_err("401");
    assert!(matches!(err, LoginError::InvalidCredentials));
}

#[tokio::test]
async fn throttled_logins_never_reach_the_password_check() {
    let mut mocks = Mocks::new();
    mocks.limiter.expect_acquire().returning(|_, _, _| {
        Ok(RateDecision::Limited {
            retry_after: Duration::from_secs(42),
        })
    });
    mocks.store.expect_find_credentials().never();
    mocks.hasher.expect_verify().never();
    let err = mocks
        .service()
        .login("alice", "pw", "ip")
        .await
        .expect_err("429");
    assert!(matches!(err, LoginError::Throttled { retry_after } if retry_after.as_secs() == 42));
}

#[tokio::test]
async fn a_full_account_count_gives_the_address_place_back() {
    let mut mocks = Mocks::new();
    mocks
        .store
        .expect_find_credentials()
        .returning(|_| Ok(Some((user(true), "hash".into()))));
    mocks.limiter.expect_remembers().returning(|_| Ok(false));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key.starts_with("login:addr:"))
        .returning(|_, _, _| Ok(allowed()));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key.starts_with("login:account:"))
        .returning(|_, _, _| {
            Ok(RateDecision::Limited {
                retry_after: Duration::from_secs(7),
            })
        });
    mocks
        .limiter
        .expect_release()
        .withf(|key| key == "login:addr:ip")
        .times(1)
        .returning(|_| Ok(()));
    mocks.hasher.expect_verify().never();
    let err = mocks
        .service()
        .login("alice", "pw", "ip")
        .await
        .expect_err("429");
    assert!(matches!(err, LoginError::Throttled { .. }));
}

#[tokio::test]
async fn an_address_the_account_logged_in_from_skips_the_account_count() {
    let mut mocks = Mocks::new();
    let alice = user(true);
    let known = format!("login:known:{}:10.1.1.1", alice.id);
    mocks
        .store
        .expect_find_credentials()
        .returning(move |_| Ok(Some((alice.clone(), "hash".into()))));
    mocks
        .limiter
        .expect_remembers()
        .withf(move |key| key == known)
        .returning(|_| Ok(true));
    mocks
        .limiter
        .expect_acquire()
        .withf(|key, _, _| key == "login:addr:10.1.1.1")
        .times(1)
        .returning(|_, _, _| Ok(allowed()));
    mocks.hasher.expect_verify().returning(|_, _| Ok(false));
    mocks
        .service()
        .login("alice", "typo", "10.1.1.1")
        .await
        .expect_err("401");
}

#[tokio::test]
async fn a_failing_password_check_gives_its_places_back() {
    let mut mocks = Mocks::new();
    mocks
        .store
        .expect_find_credentials()
        .returning(|_| Ok(Some((user(true), "hash".into()))));
    mocks.limiter.expect_remembers().returning(|_| Ok(false));
    mocks
        .limiter
        .expect_acquire()
        .times(2)
        .returning(|_, _, _| Ok(allowed()));
    mocks
        .hasher
        .expect_verify()
        .returning(|_, _| Err(agents_domain::StoreError::Other("pool closed".into())));
    mocks
        .limiter
        .expect_release()
        .times(2)
        .returning(|_| Ok(()));
    let err = mocks
        .service()
        .login("alice", "pw", "ip")
        .await
        .expect_err("500");
    assert!(matches!(err, LoginError::Store(_)));
}

#[tokio::test]
async fn a_successful_login_gives_its_places_back_remembers_the_address_and_stores_only_the_refresh_hash()
 {
    let mut mocks = Mocks::new();
    let alice = user(true);
    let id = alice.id;
    mocks
        .store
        .expect_find_credentials()
        .returning(move |_| Ok(Some((alice.clone(), "hash".into()))));
    mocks
        .limiter
        .expect_acquire()
        .times(2)
        .returning(|_, _, _| Ok(allowed()));
    mocks.limiter.expect_remembers().returning(|_| Ok(false));
    mocks
        .limiter
        .expect_release()
        .times(2)
        .returning(|_| Ok(()));
    mocks
        .limiter
        .expect_remember()
        .withf(move |key, ttl| key == format!("login:known:{id}:ip") && ttl.as_secs() > 0)
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.hasher.expect_verify().returning(|_, _| Ok(true));
    mocks
        .issuer
        .expect_issue()
        .returning(move |u, _| Ok(("jwt".into(), claims(u))));
    mocks
        .tokens
        .expect_insert()
        .withf(move |record| record.token_hash == "h(next-token)" && record.user_id == id)
        .times(1)
        .returning(|_| Ok(()));
    let pair = mocks
        .service()
        .login("alice", "correct horse", "ip")
        .await
        .expect("ok");
    assert_eq!(pair.access_token, "jwt");
    assert_eq!(pair.refresh_token, "next-token");
    assert_eq!(pair.expires_in, 1800);
}

#[tokio::test]
async fn a_reused_refresh_token_is_refused() {
    let mut mocks = Mocks::new();
    mocks
        .tokens
        .expect_rotate()
        .returning(|_, _, _, _, _| Ok(RotateOutcome::Reused));
    let err = mocks.service().refresh("old").await.expect_err("401");
    assert!(matches!(err, RefreshError::Invalid));
}

#[tokio::test]
async fn a_refresh_retried_after_a_failure_past_the_rotation_gets_the_same_token() {
    let mut mocks = Mocks::new();
    let alice = user(true);
    let id = alice.id;
    let mut rotations = 0;
    mocks
        .tokens
        .expect_rotate()
        .withf(|presented, next, _, _, grace| {
            presented == "h(old)" && next == "h(succ(old))" && grace.as_secs() == 30
        })
        .times(2)
        .returning(move |_, _, _, _, _| {
            rotations += 1;
            Ok(if rotations == 1 {
                RotateOutcome::Rotated { user_id: id }
            } else {
                RotateOutcome::Replayed { user_id: id }
            })
        });
    let mut lookups = 0;
    mocks.store.expect_find_user().times(2).returning(move |_| {
        lookups += 1;
        if lookups == 1 {
            Err(AccountError::Store(agents_domain::StoreError::Unavailable(
                "database restarting".into(),
            )))
        } else {
            Ok(Some(alice.clone()))
        }
    });
    mocks
        .issuer
        .expect_issue()
        .returning(move |u, _| Ok(("jwt".into(), claims(u))));
    let service = mocks.service();
    let err = service
        .refresh("old")
        .await
        .expect_err("fails after the rotation");
    assert!(matches!(err, RefreshError::Store(_)));
    let pair = service.refresh("old").await.expect("the retry succeeds");
    assert_eq!(pair.refresh_token, "succ(old)");
}
