//! Credentials: password hashing, access tokens and rotating refresh tokens.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Password;
use crate::ids::TokenFamilyId;
use crate::{StoreError, UserId};

/// Hashes and verifies passwords (Argon2id in production). Implementations
/// bound concurrency so a login burst cannot exhaust memory.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A PHC-format hash of `password` with a fresh salt.
    async fn hash(&self, password: &Password) -> Result<String, StoreError>;

    /// Whether `password` matches `phc_hash`. With `None` the implementation
    /// verifies against a dummy hash and returns false, so unknown users cost
    /// the same time as wrong passwords.
    async fn verify(
        &self,
        password: &Password,
        phc_hash: Option<String>,
    ) -> Result<bool, StoreError>;
}

/// The claims of an access token (all empty for a caller authenticated by
/// an API key, which has no token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Why an access token was refused. Deliberately coarse: clients learn only
/// that the token is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token is past its expiry.
    #[error("token expired")]
    Expired,
    /// Bad signature, wrong algorithm, issuer or audience, or not a JWT.
    #[error("token invalid")]
    Invalid,
    /// Signing failed (key problem).
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// Issues and verifies access tokens (JWT in production). Synchronous: it
/// touches no storage.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenIssuer: Send + Sync {
    /// Signs a token for `user`, valid from `now` for the configured lifetime.
    fn issue(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<(String, AccessClaims), TokenError>;
    /// Verifies signature, algorithm, expiry, issuer and audience.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError>;
    /// Lifetime of issued tokens in seconds (the `expires_in` of responses).
    fn lifetime_seconds(&self) -> i64;
    /// A fresh opaque refresh token (high-entropy, URL-safe).
    fn generate_refresh_token(&self) -> String;
    /// The token that succeeds `presented` when it is rotated: derived with
    /// a server-side key, so the same presented token always gets the same
    /// successor (a retried rotation can answer the same pair) and nobody
    /// without the key can compute it.
    fn successor_refresh_token(&self, presented: &str) -> String;
    /// The digest under which a refresh token is stored and looked up.
    fn hash_refresh_token(&self, token: &str) -> String;
}

/// A stored refresh token: only its hash is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the opaque token, hex.
    pub token_hash: String,
    /// The login this token belongs to.
    pub family_id: TokenFamilyId,
    /// The user.
    pub user_id: UserId,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The result of presenting a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum RotateOutcome {
    /// The token was live: it is now used, and the new one stored.
    Rotated {
        /// Whose token it was.
        user_id: UserId,
    },
    /// The token was used within the grace window and its successor is
    /// still unused: nothing changed, the caller answers the same successor
    /// again (a client retrying a rotation whose answer it did not get).
    Replayed {
        /// Whose token it was.
        user_id: UserId,
    },
    /// The token was already used (outside the grace window, or its
    /// successor was used too) or revoked: the whole family is now revoked.
    Reused,
    /// Unknown or expired token.
    Invalid,
}

/// Stores refresh tokens by hash, with single use and family revocation.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a newly issued token.
    async fn insert(&self, token: RefreshTokenRecord) -> Result<(), StoreError>;

    /// Atomically marks the live token `presented_hash` used and stores a
    /// successor `next_hash` (expiring at `next_expires_at`) in the same family
    /// for the same user. A token used no longer than `grace` ago whose
    /// successor `next_hash` is still live (stored, unused, unrevoked,
    /// unexpired) returns `Replayed` and changes nothing. Presenting any
    /// other used token, or a revoked one, revokes the whole family and
    /// returns `Reused`; an unknown or expired one `Invalid`.
    async fn rotate(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: OffsetDateTime,
        now: OffsetDateTime,
        grace: std::time::Duration,
    ) -> Result<RotateOutcome, StoreError>;

    /// Revokes the family of `presented_hash`. Returns whether it existed.
    async fn revoke_family(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
