//! The `RefreshTokenStore` contract, run against the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::account::{RefreshTokenRecord, RotateOutcome};
use agents_domain::ids::TokenFamilyId;
use std::time::Duration;

use contract::{Fixture, at, register};

const NO_GRACE: Duration = Duration::ZERO;
const GRACE: Duration = Duration::from_secs(30);

fn token(
    hash: &str,
    family: TokenFamilyId,
    user: agents_domain::UserId,
    expires: i64,
) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: hash.into(),
        family_id: family,
        user_id: user,
        created_at: at(0),
        expires_at: at(expires),
    }
}

async fn rotation_is_single_use_and_reuse_revokes_the_family(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    let family = TokenFamilyId::new();
    f.refresh_tokens
        .insert(token("t1", family, user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.refresh_tokens
            .rotate("t1", "t2", at(7200), at(10), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("t2", "t3", at(7200), at(20), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    // t1 again: theft; the live t3 dies with the family.
    assert_eq!(
        f.refresh_tokens
            .rotate("t1", "x1", at(7200), at(30), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("t3", "x2", at(7200), at(40), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("unknown", "x3", at(7200), at(40), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Invalid
    );
    // Another login of the same user is untouched.
    let other = TokenFamilyId::new();
    f.refresh_tokens
        .insert(token("o1", other, user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.refresh_tokens
            .rotate("o1", "o2", at(7200), at(50), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
}

async fn expired_tokens_are_invalid_and_logout_revokes(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.refresh_tokens
        .insert(token("old", TokenFamilyId::new(), user, 60))
        .await
        .expect("insert");
    assert_eq!(
        f.refresh_tokens
            .rotate("old", "new", at(7200), at(61), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Invalid
    );
    f.refresh_tokens
        .insert(token("live", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    assert!(
        f.refresh_tokens
            .revoke_family("live", at(5))
            .await
            .expect("revoke")
    );
    assert!(
        !f.refresh_tokens
            .revoke_family("never-issued", at(5))
            .await
            .expect("revoke")
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("live", "next", at(7200), at(6), NO_GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
}

async fn concurrent_rotations_of_one_token_succeed_once(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.refresh_tokens
        .insert(token("shared", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let tokens = f.refresh_tokens.clone();
            tokio::spawn(async move {
                tokens
                    .rotate("shared", &format!("next-{i}"), at(7200), at(10), NO_GRACE)
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        if matches!(
            task.await.expect("join").expect("rotate"),
            RotateOutcome::Rotated { .. }
        ) {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
}

async fn a_retry_within_the_grace_window_gets_the_same_successor(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.refresh_tokens
        .insert(token("g1", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    let rotate = |presented: &'static str, next: &'static str, secs: i64| {
        let tokens = f.refresh_tokens.clone();
        async move {
            tokens
                .rotate(presented, next, at(7200), at(secs), GRACE)
                .await
                .expect("rotate")
        }
    };
    assert_eq!(
        rotate("g1", "g2", 10).await,
        RotateOutcome::Rotated { user_id: user }
    );
    // The answer was lost; the client presents g1 again 20 s later.
    assert_eq!(
        rotate("g1", "g2", 30).await,
        RotateOutcome::Replayed { user_id: user }
    );
    assert_eq!(
        rotate("g1", "g2", 40).await,
        RotateOutcome::Replayed { user_id: user },
        "the grace runs from the first use, and nothing changed"
    );
    // The successor works, once.
    assert_eq!(
        rotate("g2", "g3", 41).await,
        RotateOutcome::Rotated { user_id: user }
    );
    // g1 again: its successor is used now, so this is theft.
    assert_eq!(rotate("g1", "g2", 42).await, RotateOutcome::Reused);
    assert_eq!(
        rotate("g3", "g4", 43).await,
        RotateOutcome::Reused,
        "the family is revoked"
    );
}

async fn a_used_token_outside_the_grace_or_with_another_successor_revokes(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.refresh_tokens
        .insert(token("late1", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.refresh_tokens
            .rotate("late1", "late2", at(7200), at(10), GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("late1", "late2", at(7200), at(41), GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused,
        "31 s after its use is past the grace"
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("late2", "late3", at(7200), at(42), GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );

    f.refresh_tokens
        .insert(token("w1", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.refresh_tokens
            .rotate("w1", "w2", at(7200), at(10), GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    assert_eq!(
        f.refresh_tokens
            .rotate("w1", "not-w2", at(7200), at(11), GRACE)
            .await
            .expect("rotate"),
        RotateOutcome::Reused,
        "only the successor it was rotated to can be answered again"
    );
}

async fn concurrent_retries_of_one_rotation_all_get_its_successor(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.refresh_tokens
        .insert(token("same", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let tokens = f.refresh_tokens.clone();
            tokio::spawn(async move {
                tokens
                    .rotate("same", "same-next", at(7200), at(10), GRACE)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("join").expect("rotate"));
    }
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Rotated { .. }))
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, RotateOutcome::Replayed { .. }))
        .count();
    assert_eq!((rotated, replayed), (1, 9), "{outcomes:?}");
}

contract_tests!(
    a_retry_within_the_grace_window_gets_the_same_successor,
    a_used_token_outside_the_grace_or_with_another_successor_revokes,
    concurrent_retries_of_one_rotation_all_get_its_successor,
    rotation_is_single_use_and_reuse_revokes_the_family,
    expired_tokens_are_invalid_and_logout_revokes,
    concurrent_rotations_of_one_token_succeed_once,
);
