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

/// A fixed-window counter keyed by an opaque string. A window starts with
/// the first hit (or place taken) on a key and lasts `window`; keys expire
/// with their window, so an idle key costs nothing.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` and tells whether it is within `limit` hits
    /// per `window`. Every hit counts, refused ones included (request rate
    /// limits). Errors: [`StoreError::Unavailable`] when the backing store
    /// does not answer.
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Takes one of `limit` places on `key` in the current window, but only
    /// when one is free: the check and the take are one atomic step, so N
    /// concurrent callers get at most `limit` places. A refused caller
    /// takes nothing. Errors: as [`RateLimiter::hit`].
    async fn acquire(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Gives back one place taken by [`RateLimiter::acquire`] in the
    /// current window. Nothing happens when no place is held (the window
    /// ended, or the key was reset); the window's end does not move.
    async fn release(&self, key: &str) -> Result<(), StoreError>;

    /// Tells whether `key` is currently over `limit` without counting a hit.
    async fn peek(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError>;

    /// Forgets `key`.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;

    /// Remembers `key` for `ttl` from now (a later call renews it), e.g. an
    /// address a login succeeded from.
    async fn remember(&self, key: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Whether `key` was remembered and has not expired.
    async fn remembers(&self, key: &str) -> Result<bool, StoreError>;
}
