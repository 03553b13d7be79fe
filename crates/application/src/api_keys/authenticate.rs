//! Authenticating a request by its API key: one indexed lookup by prefix,
//! a constant-time comparison of hashes, the same refusal for unknown,
//! revoked and expired keys, then the key's own rate limit.

use std::time::Duration;

use agents_domain::account::{AccessClaims, Role};
use agents_domain::api_key::{ApiKeyError, KEY_PREFIX, PREFIX_CHARS};
use agents_domain::limiter::RateDecision;
use agents_domain::{StoreError, UserId};

use super::ApiKeyService;
use crate::accounts::Caller;

/// Why a key is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyAuthError {
    /// Unknown, revoked or expired, or not a key at all (401, one message).
    #[error("not authenticated")]
    Unauthenticated,
    /// Past the key's `rate_limit_per_minute` (429).
    #[error("the API key's rate limit is reached")]
    RateLimited {
        /// When the next request is allowed.
        retry_after: Duration,
    },
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a key whose prefix matches no row is compared with (no SHA-256 is
/// all zeros).
const UNKNOWN_KEY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest key accepted (a generated one is 47 characters).
const MAX_KEY_CHARS: usize = 128;

/// `last_used_at` is written at most this often per key, so a busy key
/// costs one write a minute, not one per request.
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);

/// Compares without an early exit, so the time taken does not tell how
/// many leading characters matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a presented credential is an API key rather than a JWT.
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(KEY_PREFIX)
}

impl ApiKeyService {
    /// The caller a key stands for: its tenant (as a viewer), its scopes
    /// and limits. Counts the request against the key's rate limit; a
    /// limiter that does not answer lets it through (logged).
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, KeyAuthError> {
        let secret = secret.trim();
        if !looks_like_key(secret)
            || secret.len() > MAX_KEY_CHARS
            || !secret.is_ascii()
            || secret.len() <= PREFIX_CHARS
        {
            return Err(KeyAuthError::Unauthenticated);
        }
        let presented = self.material.hash(secret);
        let found = self
            .store
            .lookup(&secret[..PREFIX_CHARS])
            .await
            .map_err(|e| match e {
                ApiKeyError::Store(e) => KeyAuthError::Store(e),
                other => KeyAuthError::Store(StoreError::other(other.to_string())),
            })?;
        // Compare against a hash of the same length even when the prefix is
        // unknown, so unknown and wrong keys take the same path.
        let stored = found.as_ref().map_or(UNKNOWN_KEY_HASH, |f| f.hash.as_str());
        let matches = constant_time_eq(presented.as_bytes(), stored.as_bytes());
        let now = self.clock.now();
        let lookup = match found {
            Some(lookup) if matches && lookup.key.is_usable(now) => lookup,
            _ => return Err(KeyAuthError::Unauthenticated),
        };
        let key = lookup.key;
        let span = tracing::Span::current();
        span.record("tenant_id", tracing::field::display(key.tenant_id));
        span.record("api_key", tracing::field::display(&key.prefix));
        if let Some(limit) = key.rate_limit_per_minute.filter(|l| *l > 0) {
            let bucket = format!("api-key:{}", key.id);
            match self
                .limiter
                .hit(&bucket, limit, Duration::from_secs(60))
                .await
            {
                Ok(RateDecision::Allowed { .. }) => {}
                Ok(RateDecision::Limited { retry_after }) => {
                    tracing::info!(api_key_id = %key.id, limit, "API key rate limited");
                    return Err(KeyAuthError::RateLimited { retry_after });
                }
                Err(error) => {
                    tracing::warn!(api_key_id = %key.id, %error, "key rate limiter unavailable; not counted");
                }
            }
        }
        if key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY)
            && let Err(error) = self.store.touch(key.id, now).await
        {
            // The request is authenticated; a lost timestamp is no reason to fail it.
            tracing::warn!(api_key_id = %key.id, %error, "could not record the key's last use");
        }
        Ok(Caller {
            user_id: UserId::from_uuid(key.id.as_uuid()),
            claims: AccessClaims::default(),
            tenant: Some((lookup.tenant, Role::Viewer)),
            api_key: Some(key),
        })
    }
}
