//! A fixed-window counter in Redis, shared by every replica. Each counting
//! step is one Lua script (atomic on the server, Redis 2.6 and later): the
//! window starts with its first hit and expires with the key.

use std::sync::LazyLock;
use std::time::Duration;

use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

mod connection;

use connection::{KindStr, ResilientConnection};

/// Key prefix, so the limiter's keys are recognisable in a shared Redis.
const PREFIX: &str = "agents:rl:";

/// Counts a hit: `{count, ttl_ms}`. A key left without a TTL (by an older
/// version or a manual write) gets the window, so none lives for ever.
static HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl == -1 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          ttl = tonumber(ARGV[1])
        end
        return {count, ttl}
        ",
    )
});

/// Takes a place only when one is free: `{taken (0/1), count, ttl_ms}`.
static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        local taken = 0
        if count < tonumber(ARGV[1]) then
          count = redis.call('INCR', KEYS[1])
          taken = 1
        end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl == -1 then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          ttl = tonumber(ARGV[2])
        end
        return {taken, count, ttl}
        ",
    )
});

/// Gives a place back; never creates the key (a bare DECR would, without TTL).
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        if count > 0 then
          redis.call('DECR', KEYS[1])
        end
        return 0
        ",
    )
});

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

/// A window in whole milliseconds, at least one.
fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
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
        let mut conn = self.connection.clone();
        let (count, ttl): (u64, i64) = HIT
            .key(format!("{PREFIX}{key}"))
            .arg(window_ms(window))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(decide(count, ttl, limit))
    }

    async fn acquire(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let mut conn = self.connection.clone();
        let (taken, count, ttl): (u8, u64, i64) = ACQUIRE
            .key(format!("{PREFIX}{key}"))
            .arg(limit)
            .arg(window_ms(window))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(if taken == 1 {
            decide(count, ttl, limit)
        } else {
            decide(u64::from(limit).saturating_add(1), ttl, limit)
        })
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.connection.clone();
        let _: i64 = RELEASE
            .key(format!("{PREFIX}{key}"))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
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
        let count = count.unwrap_or(0);
        // Places left now; full when one more would be refused.
        Ok(if count >= u64::from(limit) {
            decide(u64::from(limit).saturating_add(1), ttl, limit)
        } else {
            decide(count, ttl, limit)
        })
    }

    async fn remember(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.connection.clone();
        let _: () = redis::cmd("SET")
            .arg(format!("{PREFIX}{key}"))
            .arg(1)
            .arg("PX")
            .arg(window_ms(ttl))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn remembers(&self, key: &str) -> Result<bool, StoreError> {
        let mut conn = self.connection.clone();
        let found: i64 = redis::cmd("EXISTS")
            .arg(format!("{PREFIX}{key}"))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(found > 0)
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
