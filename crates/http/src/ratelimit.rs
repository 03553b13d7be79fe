//! Request rate limits over the limiter port (the one login throttling
//! uses): per client address on the unauthenticated routes. (The per-tenant
//! chat rate is chat admission, in the application.) In-process or Redis is
//! the server's choice; with Redis every replica shares one budget. A limit
//! of 0 turns that limit off.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::telemetry::metrics::{record_rate_limited, record_rate_limiter_error};

/// Every limit here counts requests per minute.
const WINDOW: Duration = Duration::from_secs(60);

/// Requests per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Per client address, on the unauthenticated routes
    /// (`RATE_LIMIT_ANON_PER_MINUTE`).
    pub anon_per_minute: u32,
}

/// The limits and the limiter that counts them. Cloning shares the limiter.
#[derive(Clone)]
pub struct RateLimitPolicy {
    limiter: Arc<dyn RateLimiter>,
    limits: RateLimits,
}

impl std::fmt::Debug for RateLimitPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitPolicy")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimitPolicy {
    /// No limits (tests and embedders that do not want any).
    fn default() -> Self {
        Self {
            limiter: Arc::new(NeverLimits),
            limits: RateLimits::default(),
        }
    }
}

impl RateLimitPolicy {
    /// `limits`, counted by `limiter`.
    pub fn new(limiter: Arc<dyn RateLimiter>, limits: RateLimits) -> Self {
        Self { limiter, limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Counts one request on `key` and refuses it with 429 `rate_limited`
    /// and `Retry-After` past `per_minute` requests in the current minute.
    /// `0` never refuses. When the limiter itself fails the request is let
    /// through (and logged and counted): an outage of Redis must not take
    /// the API down with it.
    pub async fn check(&self, key: &str, per_minute: u32) -> Result<(), ApiError> {
        self.check_scoped("custom", key, per_minute).await
    }

    /// The per-address limit of the unauthenticated routes.
    pub async fn check_client(&self, client: &ClientAddr) -> Result<(), ApiError> {
        let key = format!("anon:{}", client.0);
        self.check_scoped("client", &key, self.limits.anon_per_minute)
            .await
    }

    async fn check_scoped(
        &self,
        scope: &'static str,
        key: &str,
        per_minute: u32,
    ) -> Result<(), ApiError> {
        if per_minute == 0 {
            return Ok(());
        }
        match self.limiter.hit(key, per_minute, WINDOW).await {
            Ok(RateDecision::Allowed { .. }) => Ok(()),
            Ok(RateDecision::Limited { retry_after }) => {
                record_rate_limited(scope);
                Err(ApiError::too_many(
                    "rate_limited",
                    "Too many requests; wait for the Retry-After delay before trying again.",
                    retry_after.as_secs_f64().ceil() as u64,
                ))
            }
            Err(err) => {
                record_rate_limiter_error();
                tracing::warn!(error = %err, scope, "rate limiter failed; request let through");
                Ok(())
            }
        }
    }
}

/// A limiter that never limits, behind [`RateLimitPolicy::default`].
struct NeverLimits;

#[async_trait]
impl RateLimiter for NeverLimits {
    async fn hit(&self, _: &str, limit: u32, _: Duration) -> Result<RateDecision, StoreError> {
        Ok(RateDecision::Allowed { remaining: limit })
    }
    async fn acquire(&self, _: &str, limit: u32, _: Duration) -> Result<RateDecision, StoreError> {
        Ok(RateDecision::Allowed { remaining: limit })
    }
    async fn release(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn peek(&self, _: &str, limit: u32, _: Duration) -> Result<RateDecision, StoreError> {
        Ok(RateDecision::Allowed { remaining: limit })
    }
    async fn reset(&self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn remember(&self, _: &str, _: Duration) -> Result<(), StoreError> {
        Ok(())
    }
    async fn remembers(&self, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// Extractor for unauthenticated handlers: put it first among the
/// arguments and the per-address limit is checked before the body is read.
/// Without a [`RateLimitPolicy`] in the app data nothing is limited.
#[derive(Debug, Clone, Copy)]
pub struct ClientRateLimited;

impl FromRequest for ClientRateLimited {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let policy = req.app_data::<web::Data<RateLimitPolicy>>().cloned();
        let client = ClientAddr::from_request(req, payload);
        Box::pin(async move {
            if let Some(policy) = policy {
                policy.check_client(&client.await?).await?;
            }
            Ok(ClientRateLimited)
        })
    }
}

#[cfg(test)]
mod tests;
