//! The `RefreshTokenStore` contract, run against the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::account::{RefreshTokenRecord, RotateOutcome};
use agents_domain::ids::TokenFamilyId;
use contract::{Fixture, at, register};

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
    f.tokens
        .insert(token("t1", family, user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.tokens
            .rotate("t1", "t2", at(7200), at(10))
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    assert_eq!(
        f.tokens
            .rotate("t2", "t3", at(7200), at(20))
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
    // t1 again: theft; the live t3 dies with the family.
    assert_eq!(
        f.tokens
            .rotate("t1", "x1", at(7200), at(30))
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
    assert_eq!(
        f.tokens
            .rotate("t3", "x2", at(7200), at(40))
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
    assert_eq!(
        f.tokens
            .rotate("unknown", "x3", at(7200), at(40))
            .await
            .expect("rotate"),
        RotateOutcome::Invalid
    );
    // Another login of the same user is untouched.
    let other = TokenFamilyId::new();
    f.tokens
        .insert(token("o1", other, user, 3600))
        .await
        .expect("insert");
    assert_eq!(
        f.tokens
            .rotate("o1", "o2", at(7200), at(50))
            .await
            .expect("rotate"),
        RotateOutcome::Rotated { user_id: user }
    );
}

async fn expired_tokens_are_invalid_and_logout_revokes(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.tokens
        .insert(token("old", TokenFamilyId::new(), user, 60))
        .await
        .expect("insert");
    assert_eq!(
        f.tokens
            .rotate("old", "new", at(7200), at(61))
            .await
            .expect("rotate"),
        RotateOutcome::Invalid
    );
    f.tokens
        .insert(token("live", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    assert!(f.tokens.revoke_family("live", at(5)).await.expect("revoke"));
    assert!(
        !f.tokens
            .revoke_family("never-issued", at(5))
            .await
            .expect("revoke")
    );
    assert_eq!(
        f.tokens
            .rotate("live", "next", at(7200), at(6))
            .await
            .expect("rotate"),
        RotateOutcome::Reused
    );
}

async fn concurrent_rotations_of_one_token_succeed_once(f: Fixture) {
    let (user, _) = register(&f, "alice").await;
    f.tokens
        .insert(token("shared", TokenFamilyId::new(), user, 3600))
        .await
        .expect("insert");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let tokens = f.tokens.clone();
            tokio::spawn(async move {
                tokens
                    .rotate("shared", &format!("next-{i}"), at(7200), at(10))
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

contract_tests!(
    rotation_is_single_use_and_reuse_revokes_the_family,
    expired_tokens_are_invalid_and_logout_revokes,
    concurrent_rotations_of_one_token_succeed_once,
);
