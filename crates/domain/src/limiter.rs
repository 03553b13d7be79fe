//! The rate-limiter port: counts hits per key in a fixed window. Login
//! throttling and request rate limits share it, so replicas can share one
//! budget through a networked implementation.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// The limiter's answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Under the limit; `remaining` hits are left in the window.
    Allowed {
        /// Hits left before the limit.
        remaining: u32,
    },
    /// Over the limit; retry after this long.
    Limited {
        /// Time until the window resets.
        retry_after: Duration,
    },
}

/// A fixed-window counter keyed by an opaque string.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` and tells whether it is within `limit` hits
    /// per `window`. Errors: [`StoreError::Unavailable`] when the backing
    /// store does not answer.
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Tells whether `key` is currently over `limit` without counting a hit.
    async fn peek(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Forgets `key` (e.g. after a successful login).
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
}
