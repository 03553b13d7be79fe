//! A fixed-window counter in process memory. Expiry costs O(1) per call:
//! each key is checked lazily when touched, and one queue per window length
//! (sorted by expiry, since every entry of a queue has the same length) is
//! swept from its front by at most [`SWEEP_PER_CALL`] entries per call, so
//! no call ever scans the whole map under the lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use async_trait::async_trait;

/// Expired entries removed per call at most; more than one, so sweeping
/// outpaces the creation of new keys (one per call at most).
const SWEEP_PER_CALL: usize = 4;

/// One key's window.
#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    count: u32,
    /// The end under which this window sits in its expiry queue (earlier
    /// than `ends` after a renewal; the sweep then queues it again).
    queued: Instant,
}

#[derive(Default)]
struct State {
    windows: HashMap<Arc<str>, Window>,
    /// Per window length: (end, key) in the order windows started.
    expiries: HashMap<Duration, VecDeque<(Instant, Arc<str>)>>,
}

impl State {
    /// The live window of `key`, dropping an expired one.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Window> {
        if self.windows.get(key).is_some_and(|w| w.ends <= now) {
            self.windows.remove(key);
        }
        self.windows.get_mut(key)
    }

    /// Starts a window of `length` on `key` holding `count`.
    fn start(&mut self, key: &str, length: Duration, count: u32, now: Instant) -> Window {
        let key: Arc<str> = Arc::from(key);
        let window = Window {
            ends: now + length,
            count,
            queued: now + length,
        };
        self.windows.insert(key.clone(), window);
        self.expiries
            .entry(length)
            .or_default()
            .push_back((window.ends, key));
        window
    }

    /// Removes up to [`SWEEP_PER_CALL`] expired entries from the queue fronts.
    fn sweep(&mut self, now: Instant) {
        let mut budget = SWEEP_PER_CALL;
        for queue in self.expiries.values_mut() {
            while budget > 0 {
                match queue.front() {
                    Some((ends, _)) if *ends <= now => {}
                    _ => break,
                }
                let Some((queued, key)) = queue.pop_front() else {
                    break;
                };
                budget -= 1;
                match self.windows.get_mut(&key) {
                    // A key restarted since sits in the queue under its new end.
                    Some(window) if window.queued != queued => {}
                    Some(window) if window.ends <= now => {
                        self.windows.remove(&key);
                    }
                    // Renewed in place: queue it again under its new end.
                    Some(window) => {
                        window.queued = window.ends;
                        queue.push_back((window.ends, key));
                    }
                    None => {}
                }
            }
        }
        self.expiries.retain(|_, queue| !queue.is_empty());
    }
}

/// Counts hits per key in fixed windows, in process memory.
#[derive(Default)]
pub struct InMemoryRateLimiter {
    state: Mutex<State>,
}

impl InMemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Other("rate limiter lock poisoned".into()))
    }

    /// Keys held now, expired ones not yet swept included (tests).
    pub fn len(&self) -> usize {
        self.lock().map(|s| s.windows.len()).unwrap_or_default()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn limited(window: Window, now: Instant) -> RateDecision {
    RateDecision::Limited {
        retry_after: window
            .ends
            .saturating_duration_since(now)
            .max(Duration::from_secs(1)),
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
        let mut state = self.lock()?;
        state.sweep(now);
        let current = match state.live(key, now) {
            Some(current) => {
                current.count = current.count.saturating_add(1);
                *current
            }
            None => state.start(key, window, 1, now),
        };
        Ok(if current.count > limit {
            limited(current, now)
        } else {
            RateDecision::Allowed {
                remaining: limit - current.count,
            }
        })
    }

    async fn acquire(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        state.sweep(now);
        let current = match state.live(key, now) {
            Some(current) if current.count >= limit => return Ok(limited(*current, now)),
            Some(current) => {
                current.count += 1;
                *current
            }
            None if limit == 0 => {
                return Ok(RateDecision::Limited {
                    retry_after: window.max(Duration::from_secs(1)),
                });
            }
            None => state.start(key, window, 1, now),
        };
        Ok(RateDecision::Allowed {
            remaining: limit - current.count,
        })
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        if let Some(current) = state.live(key, now) {
            current.count = current.count.saturating_sub(1);
        }
        Ok(())
    }

    async fn peek(
        &self,
        key: &str,
        limit: u32,
        _window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        Ok(match state.live(key, now) {
            // A peek asks whether one more hit would pass.
            Some(current) if current.count >= limit => limited(*current, now),
            Some(current) => RateDecision::Allowed {
                remaining: limit - current.count,
            },
            None => RateDecision::Allowed { remaining: limit },
        })
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.windows.remove(key);
        Ok(())
    }

    async fn remember(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        state.sweep(now);
        match state.live(key, now) {
            // Renewed in place: the queue keeps one entry per key.
            Some(current) => {
                current.ends = current.ends.max(now + ttl);
                current.count = 1;
            }
            None => {
                state.start(key, ttl, 1, now);
            }
        }
        Ok(())
    }

    async fn remembers(&self, key: &str) -> Result<bool, StoreError> {
        let now = Instant::now();
        Ok(self.lock()?.live(key, now).is_some_and(|w| w.count > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_keys_are_swept_a_few_per_call_without_a_full_scan() {
        let limiter = InMemoryRateLimiter::new();
        let short = Duration::from_millis(30);
        for i in 0..100 {
            limiter.hit(&format!("k{i}"), 5, short).await.expect("hit");
        }
        assert_eq!(limiter.len(), 100);
        tokio::time::sleep(Duration::from_millis(40)).await;
        // One call removes at most SWEEP_PER_CALL expired keys...
        limiter
            .hit("fresh", 5, Duration::from_secs(60))
            .await
            .expect("hit");
        assert_eq!(limiter.len(), 100 - SWEEP_PER_CALL + 1);
        // ...and steady traffic drains them all, since each call removes
        // more than it can add.
        for i in 0..40 {
            limiter
                .hit(&format!("other{}", i % 3), 5, Duration::from_secs(60))
                .await
                .expect("hit");
        }
        assert_eq!(limiter.len(), 4, "only the live keys remain");
    }

    #[tokio::test]
    async fn a_restarted_key_is_not_swept_by_its_old_queue_entry() {
        let limiter = InMemoryRateLimiter::new();
        let short = Duration::from_millis(30);
        limiter.hit("k", 1, short).await.expect("hit");
        tokio::time::sleep(Duration::from_millis(40)).await;
        // The old window lapsed; this starts a new, long one on the same key.
        limiter
            .hit("k", 1, Duration::from_secs(60))
            .await
            .expect("hit");
        limiter
            .hit("x", 1, Duration::from_secs(60))
            .await
            .expect("sweeps the old entry");
        assert!(matches!(
            limiter
                .hit("k", 1, Duration::from_secs(60))
                .await
                .expect("hit"),
            RateDecision::Limited { .. }
        ));
    }

    #[tokio::test]
    async fn a_renewed_memory_outlives_its_first_term_and_then_expires() {
        let limiter = InMemoryRateLimiter::new();
        let ttl = Duration::from_millis(60);
        limiter.remember("m", ttl).await.expect("remember");
        tokio::time::sleep(Duration::from_millis(40)).await;
        limiter.remember("m", ttl).await.expect("renew");
        tokio::time::sleep(Duration::from_millis(40)).await;
        // Past the first term: the sweep re-queues the renewed key instead of dropping it.
        limiter.hit("x", 1, ttl).await.expect("sweep");
        assert!(limiter.remembers("m").await.expect("remembers"));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(!limiter.remembers("m").await.expect("remembers"));
    }
}
