//! A limiter that counts its own failures in `rate_limiter_errors_total`,
//! for the limits checked below HTTP (chat admission in the application
//! fails open and cannot reach the metrics itself).

use std::sync::Arc;
use std::time::Duration;

use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

use super::metrics::record_rate_limiter_error;

/// Wraps a limiter; every failed call is counted, then returned as is.
pub struct CountedLimiter(Arc<dyn RateLimiter>);

impl CountedLimiter {
    /// Counts the failures of `inner`.
    pub fn wrap(inner: Arc<dyn RateLimiter>) -> Arc<dyn RateLimiter> {
        Arc::new(Self(inner))
    }
}

fn counted<T>(result: Result<T, StoreError>) -> Result<T, StoreError> {
    if result.is_err() {
        record_rate_limiter_error();
    }
    result
}

#[async_trait]
impl RateLimiter for CountedLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        counted(self.0.hit(key, limit, window).await)
    }
    async fn acquire(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        counted(self.0.acquire(key, limit, window).await)
    }
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        counted(self.0.release(key).await)
    }
    async fn peek(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        counted(self.0.peek(key, limit, window).await)
    }
    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        counted(self.0.reset(key).await)
    }
    async fn remember(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        counted(self.0.remember(key, ttl).await)
    }
    async fn remembers(&self, key: &str) -> Result<bool, StoreError> {
        counted(self.0.remembers(key).await)
    }
}
