//! Token attacks: each must be refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

/// A throwaway Ed25519 pair made for these tests only.
const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHLZGB8b6von9D3D58VhzFGKknS3a9kPexmrX/qWZNTe\n-----END PRIVATE KEY-----\n";
const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAKXMd2fO8AKEX6K/Ow2xL7x51ijVN9Uh2eSUEIHYBSAA=\n-----END PUBLIC KEY-----\n";

fn hs(secret: &str) -> JwtIssuer {
    issuer(JwtKeys::Hs256(secret.as_bytes().to_vec()), "iss", "aud")
}

fn issuer(keys: JwtKeys, iss: &str, aud: &str) -> JwtIssuer {
    JwtIssuer::new(JwtConfig {
        keys,
        issuer: iss.into(),
        audience: aud.into(),
        lifetime_seconds: 1800,
        leeway_seconds: 5,
    })
    .expect("keys load")
}

fn ed() -> JwtIssuer {
    issuer(
        JwtKeys::EdDsa {
            private_pem: ED_PRIVATE.as_bytes().to_vec(),
            public_pem: ED_PUBLIC.as_bytes().to_vec(),
        },
        "iss",
        "aud",
    )
}

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

#[test]
fn a_fresh_token_round_trips_with_all_claims() {
    let jwt = hs(SECRET);
    let user = UserId::new();
    let (token, claims) = jwt.issue(user, OffsetDateTime::now_utc()).expect("issue");
    let verified = jwt.verify(&token).expect("valid");
    assert_eq!(verified, claims);
    assert_eq!(verified.sub, user.to_string());
    assert_eq!(verified.exp - verified.iat, 1800);
    assert_eq!(
        (verified.iss.as_str(), verified.aud.as_str()),
        ("iss", "aud")
    );
}

#[test]
fn eddsa_tokens_verify() {
    let jwt = ed();
    let (token, _) = jwt
        .issue(UserId::new(), OffsetDateTime::now_utc())
        .expect("issue");
    assert!(jwt.verify(&token).is_ok());
}

#[test]
fn alg_none_is_refused() {
    let jwt = hs(SECRET);
    let (token, _) = jwt
        .issue(UserId::new(), OffsetDateTime::now_utc())
        .expect("issue");
    let payload = token.split('.').nth(1).expect("payload");
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(
        jwt.verify(&format!("{header}.{payload}.")),
        Err(TokenError::Invalid)
    );
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let (token, _) = hs("another-secret-another-secret-1234")
        .issue(UserId::new(), OffsetDateTime::now_utc())
        .expect("issue");
    assert_eq!(hs(SECRET).verify(&token), Err(TokenError::Invalid));
}

#[test]
fn an_hs256_token_is_refused_when_eddsa_is_configured() {
    // Classic confusion attack: HMAC keyed with the public key's bytes.
    let confused = hs(ED_PUBLIC);
    let (token, _) = confused
        .issue(UserId::new(), OffsetDateTime::now_utc())
        .expect("issue");
    assert_eq!(ed().verify(&token), Err(TokenError::Invalid));
    let (plain, _) = hs(SECRET)
        .issue(UserId::new(), OffsetDateTime::now_utc())
        .expect("issue");
    assert_eq!(ed().verify(&plain), Err(TokenError::Invalid));
}

#[test]
fn an_expired_token_is_refused() {
    let jwt = hs(SECRET);
    let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let (token, _) = jwt.issue(UserId::new(), long_ago).expect("issue");
    assert_eq!(jwt.verify(&token), Err(TokenError::Expired));
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let other_iss = issuer(JwtKeys::Hs256(SECRET.as_bytes().to_vec()), "evil", "aud");
    let other_aud = issuer(JwtKeys::Hs256(SECRET.as_bytes().to_vec()), "iss", "evil");
    let now = OffsetDateTime::now_utc();
    let (t1, _) = other_iss.issue(UserId::new(), now).expect("issue");
    let (t2, _) = other_aud.issue(UserId::new(), now).expect("issue");
    assert_eq!(hs(SECRET).verify(&t1), Err(TokenError::Invalid));
    assert_eq!(hs(SECRET).verify(&t2), Err(TokenError::Invalid));
}

#[test]
fn garbage_is_refused() {
    for token in ["", "garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "Bearer x"] {
        assert_eq!(
            hs(SECRET).verify(token),
            Err(TokenError::Invalid),
            "{token:?}"
        );
    }
}

#[test]
fn refresh_tokens_are_random_and_stored_hashed() {
    let jwt = hs(SECRET);
    let a = jwt.generate_refresh_token();
    let b = jwt.generate_refresh_token();
    assert_ne!(a, b);
    assert_eq!(a.len(), 64);
    let hash = jwt.hash_refresh_token(&a);
    assert_ne!(hash, a);
    assert_eq!(hash, jwt.hash_refresh_token(&a));
}

#[test]
fn a_successor_is_stable_per_key_and_unguessable_without_it() {
    let jwt = hs(SECRET);
    let presented = jwt.generate_refresh_token();
    let next = jwt.successor_refresh_token(&presented);
    assert_eq!(next.len(), 64);
    assert_ne!(next, presented);
    assert_eq!(
        next,
        hs(SECRET).successor_refresh_token(&presented),
        "a replica with the same key derives the same successor"
    );
    assert_ne!(
        next,
        hs("another-secret-of-enough-length-0123456789").successor_refresh_token(&presented),
        "the key is part of the derivation"
    );
    assert_ne!(next, jwt.hash_refresh_token(&presented));
    assert_ne!(
        jwt.successor_refresh_token(&next),
        next,
        "a chain of rotations never repeats a token"
    );
    let ed_next = ed().successor_refresh_token(&presented);
    assert_eq!(ed_next, ed().successor_refresh_token(&presented));
    assert_ne!(ed_next, next);
}
