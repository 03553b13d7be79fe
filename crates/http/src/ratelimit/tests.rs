//! The policy over a real in-memory limiter and a failing mock.

use std::sync::Arc;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use agents_adapters::limiter::InMemoryRateLimiter;
use agents_domain::StoreError;
use agents_domain::limiter::MockRateLimiter;

use super::*;

fn policy(anon: u32) -> RateLimitPolicy {
    RateLimitPolicy::new(
        Arc::new(InMemoryRateLimiter::new()),
        RateLimits {
            anon_per_minute: anon,
        },
    )
}

#[tokio::test]
async fn the_request_past_the_limit_is_refused_with_rate_limited_and_retry_after() {
    let policy = policy(0);
    policy.check("k", 2).await.expect("first");
    policy.check("k", 2).await.expect("second");
    let refused = policy.check("k", 2).await.expect_err("third is over");
    assert_eq!(refused.code(), "rate_limited");
    let response = refused.error_response();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "retry after {retry}s");
    policy
        .check("other", 2)
        .await
        .expect("keys have their own budget");
}

#[tokio::test]
async fn a_limit_of_zero_never_asks_the_limiter() {
    // No expectations: any call on the mock would panic.
    let policy = RateLimitPolicy::new(Arc::new(MockRateLimiter::new()), RateLimits::default());
    for _ in 0..5 {
        policy.check("k", 0).await.expect("off");
        policy
            .check_client(&ClientAddr("1.2.3.4".into()))
            .await
            .expect("off");
    }
}

#[tokio::test]
async fn client_addresses_are_limited_separately() {
    let policy = policy(1);
    let one = ClientAddr("10.0.0.1".into());
    policy.check_client(&one).await.expect("first");
    assert!(policy.check_client(&one).await.is_err());
    policy
        .check_client(&ClientAddr("10.0.0.2".into()))
        .await
        .expect("another address");
}

#[tokio::test]
async fn a_failing_limiter_lets_the_request_through() {
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_hit()
        .returning(|_, _, _| Err(StoreError::Unavailable("redis down".into())));
    let policy = RateLimitPolicy::new(Arc::new(limiter), RateLimits::default());
    policy.check("k", 1).await.expect("fails open");
}
