//! A fixed-window counter in process memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

/// Windows kept before expired ones are swept.
const SWEEP_THRESHOLD: usize = 10_000;

/// Window start and hits, by key.
type Windows = HashMap<String, (Instant, u32)>;

/// Counts hits per key in fixed windows; expired windows are swept lazily.
#[derive(Default)]
pub struct InMemoryRateLimiter {
    windows: Mutex<Windows>,
}

impl InMemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Windows>, StoreError> {
        self.windows
            .lock()
            .map_err(|_| StoreError::Other("rate limiter lock poisoned".into()))
    }
}

fn decide(
    started: Instant,
    count: u32,
    limit: u32,
    window: Duration,
    now: Instant,
) -> RateDecision {
    if count > limit {
        RateDecision::Limited {
            retry_after: (started + window)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1)),
        }
    } else {
        RateDecision::Allowed {
            remaining: limit - count,
        }
    }
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = Instant::now();
        let mut windows = self.lock()?;
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, (started, _)| now.duration_since(*started) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Ok(decide(entry.0, entry.1, limit, window, now))
    }

    async fn peek(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = Instant::now();
        let windows = self.lock()?;
        Ok(match windows.get(key) {
            Some((started, count)) if now.duration_since(*started) < window => {
                // A peek asks whether one more hit would pass.
                decide(*started, count.saturating_add(1), limit, window, now)
            }
            _ => RateDecision::Allowed { remaining: limit },
        })
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_hit_after_the_limit_is_refused_with_a_retry_after() {
        let limiter = InMemoryRateLimiter::new();
        let window = Duration::from_secs(60);
        for expected in (0..3).rev() {
            assert_eq!(
                limiter.hit("k", 3, window).await.expect("hit"),
                RateDecision::Allowed {
                    remaining: expected
                }
            );
        }
        let RateDecision::Limited { retry_after } = limiter.hit("k", 3, window).await.expect("hit")
        else {
            panic!("fourth hit must be limited")
        };
        assert!(retry_after <= window && retry_after >= Duration::from_secs(1));
        assert!(matches!(
            limiter.peek("k", 3, window).await.expect("peek"),
            RateDecision::Limited { .. }
        ));
        assert_eq!(
            limiter.hit("other", 3, window).await.expect("hit"),
            RateDecision::Allowed { remaining: 2 }
        );
    }

    #[tokio::test]
    async fn peek_does_not_count_and_reset_forgets() {
        let limiter = InMemoryRateLimiter::new();
        let window = Duration::from_secs(60);
        limiter.hit("k", 2, window).await.expect("hit");
        limiter.peek("k", 2, window).await.expect("peek");
        limiter.peek("k", 2, window).await.expect("peek");
        assert_eq!(
            limiter.hit("k", 2, window).await.expect("hit"),
            RateDecision::Allowed { remaining: 0 }
        );
        assert!(matches!(
            limiter.peek("k", 2, window).await.expect("peek"),
            RateDecision::Limited { .. }
        ));
        limiter.reset("k").await.expect("reset");
        assert_eq!(
            limiter.peek("k", 2, window).await.expect("peek"),
            RateDecision::Allowed { remaining: 2 }
        );
    }

    #[tokio::test]
    async fn a_window_expires() {
        let limiter = InMemoryRateLimiter::new();
        let window = Duration::from_millis(50);
        limiter.hit("k", 1, window).await.expect("hit");
        assert!(matches!(
            limiter.hit("k", 1, window).await.expect("hit"),
            RateDecision::Limited { .. }
        ));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            limiter.hit("k", 1, window).await.expect("hit"),
            RateDecision::Allowed { remaining: 0 }
        );
    }
}
