//! The rate-limiter contract, run against the in-process limiter and the
//! Redis one (the real local Redis; skipped with a printed reason when it is
//! unreachable, unless `REQUIRE_REDIS=1`, which CI sets). Redis keys are
//! fresh per test, so a shared Redis is fine.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::limiter::{InMemoryRateLimiter, RedisRateLimiter};
use agents_domain::limiter::{RateDecision, RateLimiter};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

async fn connect() -> Option<RedisRateLimiter> {
    match RedisRateLimiter::connect(&redis_url()).await {
        Ok(limiter) => Some(limiter),
        Err(err) if std::env::var("REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("REQUIRE_REDIS=1 but Redis is unreachable: {err}")
        }
        Err(err) => {
            eprintln!("skipping Redis limiter test: {err}");
            None
        }
    }
}

/// A key no other test (or run) uses.
fn fresh(name: &str) -> String {
    format!("test:{name}:{}", uuid::Uuid::new_v4())
}

fn allowed(remaining: u32) -> RateDecision {
    RateDecision::Allowed { remaining }
}

fn is_limited(decision: RateDecision) -> bool {
    matches!(decision, RateDecision::Limited { .. })
}

/// Runs each `scenarios::NAME(limiter)` on both adapters.
macro_rules! on_every_limiter {
    ($($scenario:ident),+ $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    scenarios::$scenario(Arc::new(InMemoryRateLimiter::new())).await
                }
            )+
        }
        mod redis_server {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    if let Some(limiter) = connect().await {
                        scenarios::$scenario(Arc::new(limiter)).await
                    }
                }
            )+
        }
    };
}

on_every_limiter!(
    hits_past_the_limit_are_refused_with_a_retry_after,
    concurrent_acquires_get_at_most_the_limit,
    a_refused_acquire_takes_nothing_and_a_release_frees_one_place,
    release_never_goes_below_zero_nor_creates_a_key,
    peek_does_not_count_and_reset_forgets,
    a_window_expires,
    a_memory_expires_unless_renewed,
);

mod scenarios {
    use super::*;

    pub async fn hits_past_the_limit_are_refused_with_a_retry_after(l: Arc<dyn RateLimiter>) {
        let key = fresh("hit");
        let window = Duration::from_secs(30);
        for expected in (0..3).rev() {
            assert_eq!(
                l.hit(&key, 3, window).await.expect("hit"),
                allowed(expected)
            );
        }
        let RateDecision::Limited { retry_after } = l.hit(&key, 3, window).await.expect("hit")
        else {
            panic!("the fourth hit is over the limit")
        };
        assert!(retry_after >= Duration::from_secs(1) && retry_after <= window);
        assert!(
            is_limited(l.hit(&key, 3, window).await.expect("hit")),
            "refused hits count too"
        );
        assert_eq!(
            l.hit(&fresh("other"), 3, window).await.expect("hit"),
            allowed(2)
        );
    }

    pub async fn concurrent_acquires_get_at_most_the_limit(l: Arc<dyn RateLimiter>) {
        let key = fresh("acquire");
        let window = Duration::from_secs(30);
        let attempts = (0..40).map(|_| {
            let (l, key) = (l.clone(), key.clone());
            tokio::spawn(async move { l.acquire(&key, 5, window).await.expect("acquire") })
        });
        let decisions = futures::future::join_all(attempts).await;
        let taken = decisions
            .iter()
            .filter(|d| matches!(d, Ok(RateDecision::Allowed { .. })))
            .count();
        assert_eq!(taken, 5, "{decisions:?}");
        assert!(decisions.iter().all(|d| matches!(
            d,
            Ok(RateDecision::Allowed { .. } | RateDecision::Limited { .. })
        )));
    }

    pub async fn a_refused_acquire_takes_nothing_and_a_release_frees_one_place(
        l: Arc<dyn RateLimiter>,
    ) {
        let key = fresh("release");
        let window = Duration::from_secs(30);
        assert_eq!(l.acquire(&key, 2, window).await.expect("1"), allowed(1));
        assert_eq!(l.acquire(&key, 2, window).await.expect("2"), allowed(0));
        for _ in 0..5 {
            assert!(is_limited(l.acquire(&key, 2, window).await.expect("full")));
        }
        l.release(&key).await.expect("release");
        assert_eq!(
            l.acquire(&key, 2, window).await.expect("freed"),
            allowed(0),
            "refused attempts took no place, so one release frees exactly one"
        );
        assert!(is_limited(l.acquire(&key, 2, window).await.expect("full")));
    }

    pub async fn release_never_goes_below_zero_nor_creates_a_key(l: Arc<dyn RateLimiter>) {
        let key = fresh("underflow");
        let window = Duration::from_secs(30);
        l.release(&key).await.expect("release of nothing");
        assert_eq!(
            l.peek(&key, 1, window).await.expect("peek"),
            allowed(1),
            "a release on an absent key leaves nothing behind"
        );
        assert_eq!(l.acquire(&key, 1, window).await.expect("1"), allowed(0));
        l.release(&key).await.expect("release");
        l.release(&key).await.expect("one too many");
        assert_eq!(l.acquire(&key, 1, window).await.expect("again"), allowed(0));
        assert!(
            is_limited(l.acquire(&key, 1, window).await.expect("full")),
            "the extra release did not buy a second place"
        );
    }

    pub async fn peek_does_not_count_and_reset_forgets(l: Arc<dyn RateLimiter>) {
        let key = fresh("peek");
        let window = Duration::from_secs(30);
        l.hit(&key, 2, window).await.expect("hit");
        l.peek(&key, 2, window).await.expect("peek");
        l.peek(&key, 2, window).await.expect("peek");
        assert_eq!(l.hit(&key, 2, window).await.expect("hit"), allowed(0));
        assert!(is_limited(l.peek(&key, 2, window).await.expect("peek")));
        l.reset(&key).await.expect("reset");
        assert_eq!(l.peek(&key, 2, window).await.expect("peek"), allowed(2));
    }

    pub async fn a_window_expires(l: Arc<dyn RateLimiter>) {
        let key = fresh("expiry");
        let window = Duration::from_millis(300);
        assert_eq!(l.acquire(&key, 1, window).await.expect("take"), allowed(0));
        assert!(is_limited(l.acquire(&key, 1, window).await.expect("full")));
        assert!(is_limited(l.hit(&key, 1, window).await.expect("full")));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(l.acquire(&key, 1, window).await.expect("new"), allowed(0));
    }

    pub async fn a_memory_expires_unless_renewed(l: Arc<dyn RateLimiter>) {
        let key = fresh("memory");
        let ttl = Duration::from_millis(400);
        assert!(!l.remembers(&key).await.expect("unknown"));
        l.remember(&key, ttl).await.expect("remember");
        assert!(l.remembers(&key).await.expect("known"));
        tokio::time::sleep(Duration::from_millis(250)).await;
        l.remember(&key, ttl).await.expect("renew");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            l.remembers(&key).await.expect("renewed"),
            "past its first term, but renewed"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!l.remembers(&key).await.expect("expired"));
    }
}

#[tokio::test]
async fn two_redis_limiter_instances_share_one_budget() {
    let (Some(first), Some(second)) = (connect().await, connect().await) else {
        return;
    };
    let key = fresh("shared");
    let window = Duration::from_secs(30);
    assert_eq!(first.acquire(&key, 3, window).await.expect("1"), allowed(2));
    assert_eq!(
        second.acquire(&key, 3, window).await.expect("2"),
        allowed(1),
        "the second replica sees the first one's place"
    );
    assert_eq!(first.hit(&key, 3, window).await.expect("3"), allowed(0));
    assert!(is_limited(
        second.acquire(&key, 3, window).await.expect("4")
    ));
    first.release(&key).await.expect("release");
    assert_eq!(
        second.acquire(&key, 3, window).await.expect("5"),
        allowed(0)
    );
    second.reset(&key).await.expect("reset");
    assert_eq!(
        first.peek(&key, 3, window).await.expect("peek"),
        allowed(3),
        "a reset on one instance frees the budget for both"
    );
}

/// A counter found without expiry (an older version, a manual write) gets
/// the window on its next use, so no key lives for ever.
#[tokio::test]
async fn a_key_without_a_ttl_gets_the_window() {
    let Some(limiter) = connect().await else {
        return;
    };
    let key = fresh("no-ttl");
    let client = redis::Client::open(redis_url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("SET")
        .arg(format!("agents:rl:{key}"))
        .arg(7)
        .query_async(&mut conn)
        .await
        .expect("set");
    assert!(is_limited(
        limiter
            .acquire(&key, 5, Duration::from_secs(30))
            .await
            .expect("acquire")
    ));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("agents:rl:{key}"))
        .query_async(&mut conn)
        .await
        .expect("pttl");
    assert!(ttl > 0 && ttl <= 30_000, "{ttl}");
}
