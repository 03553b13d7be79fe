//! A fixed-window counter in Redis, shared by every replica: `INCR` and
//! `PEXPIRE NX` in one MULTI, so the window starts with its first hit.

use std::time::Duration;

use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

mod connection;

use connection::{KindStr, ResilientConnection};

/// Key prefix, so the limiter's keys are recognisable in a shared Redis.
const PREFIX: &str = "agents:rl:";

/// Redis-backed limiter. Cloning shares the connection.
#[derive(Clone)]
pub struct RedisRateLimiter {
    connection: ResilientConnection,
}

impl RedisRateLimiter {
    /// Connects to `url` (`redis://host:port/db`), failing fast when Redis
    /// does not answer. Afterwards every call answers within a couple of
    /// seconds, with `StoreError::Unavailable` while Redis is down or
    /// silent, and the connection is reopened by itself when Redis is back.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::unavailable(format!("bad REDIS_URL: {}", e.kind_str())))?;
        let connection = ResilientConnection::connect(client)
            .await
            .map_err(|e| StoreError::unavailable(format!("redis unreachable: {}", e.kind_str())))?;
        Ok(Self { connection })
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::unavailable(format!("redis: {}", err.kind_str()))
}

fn decide(count: u64, ttl_ms: i64, limit: u32) -> RateDecision {
    if count > u64::from(limit) {
        let millis = u64::try_from(ttl_ms).unwrap_or(1000).max(1000);
        RateDecision::Limited {
            retry_after: Duration::from_millis(millis),
        }
    } else {
        let remaining = u64::from(limit) - count;
        RateDecision::Allowed {
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let key = format!("{PREFIX}{key}");
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.connection.clone();
        let (count, _, ttl): (u64, i64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window_ms)
            .arg("NX")
            .pttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(decide(count, ttl, limit))
    }

    async fn peek(
        &self,
        key: &str,
        limit: u32,
        _window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let key = format!("{PREFIX}{key}");
        let mut conn = self.connection.clone();
        let (count, ttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(decide(count.unwrap_or(0).saturating_add(1), ttl, limit))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.connection.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{PREFIX}{key}"))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
