//! The Redis limiter against the real local Redis: two instances (two
//! replicas) share one budget. Skips with a printed reason when Redis is
//! unreachable, unless `REQUIRE_REDIS=1` (CI sets it).

use std::time::Duration;

use agents_adapters::limiter::RedisRateLimiter;
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

#[tokio::test]
async fn two_limiter_instances_share_one_budget() {
    let (Some(first), Some(second)) = (connect().await, connect().await) else {
        return;
    };
    // A fresh key per run: the Redis may be shared with other tests.
    let key = format!("test:shared:{}", uuid::Uuid::new_v4());
    let window = Duration::from_secs(30);

    assert_eq!(
        first.hit(&key, 3, window).await.expect("hit"),
        RateDecision::Allowed { remaining: 2 }
    );
    assert_eq!(
        second.hit(&key, 3, window).await.expect("hit"),
        RateDecision::Allowed { remaining: 1 },
        "the second replica sees the first one's hit"
    );
    assert_eq!(
        first.hit(&key, 3, window).await.expect("hit"),
        RateDecision::Allowed { remaining: 0 }
    );
    let RateDecision::Limited { retry_after } = second.hit(&key, 3, window).await.expect("hit")
    else {
        panic!("the fourth hit across both instances is over the limit");
    };
    assert!(retry_after >= Duration::from_secs(1) && retry_after <= window);
    assert!(matches!(
        first.peek(&key, 3, window).await.expect("peek"),
        RateDecision::Limited { .. }
    ));

    second.reset(&key).await.expect("reset");
    assert_eq!(
        first.peek(&key, 3, window).await.expect("peek"),
        RateDecision::Allowed { remaining: 2 },
        "a reset on one instance frees the budget for both"
    );
    first.reset(&key).await.expect("cleanup");
}

#[tokio::test]
async fn the_window_expires_in_redis() {
    let Some(limiter) = connect().await else {
        return;
    };
    let key = format!("test:expiry:{}", uuid::Uuid::new_v4());
    let window = Duration::from_millis(300);
    limiter.hit(&key, 1, window).await.expect("hit");
    assert!(matches!(
        limiter.hit(&key, 1, window).await.expect("hit"),
        RateDecision::Limited { .. }
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        limiter.hit(&key, 1, window).await.expect("hit"),
        RateDecision::Allowed { remaining: 0 }
    );
    limiter.reset(&key).await.expect("cleanup");
}
