//! Redis outages, with Redis behind a proxy that cuts, refuses, black-holes
//! or freezes connections: the shared limits fail open (chat goes on), the
//! login throttle fails closed (503), every call answers within a couple
//! of seconds, and all of it heals without a restart.

use std::time::{Duration, Instant};

use agents_adapters::limiter::RedisRateLimiter;
use agents_domain::StoreError;
use agents_domain::limiter::{RateDecision, RateLimiter};
use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;
use agents_e2e::fault_proxy::{FaultProxy, Outage};
use agents_e2e::postgres::redis_available;
use serde_json::{Value, json};

const REDIS: &str = "127.0.0.1:6379";
/// The limiter's deadline for any call, plus scheduling slack.
const PROMPT: Duration = Duration::from_secs(3);

/// Calls `hit` until it succeeds, within `within`.
async fn until_healed(limiter: &RedisRateLimiter, key: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if limiter.hit(key, 100, Duration::from_secs(60)).await.is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the limiter did not heal within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fails_promptly(limiter: &RedisRateLimiter, key: &str) {
    let started = Instant::now();
    let result = limiter.hit(key, 100, Duration::from_secs(60)).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < PROMPT,
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_limiter_fails_fast_while_redis_is_away_and_reconnects_by_itself() {
    if !redis_available(&format!("redis://{REDIS}")) {
        return;
    }
    let proxy = FaultProxy::start(REDIS).await;
    let limiter = RedisRateLimiter::connect(&format!("redis://127.0.0.1:{}/0", proxy.port()))
        .await
        .expect("connect through the proxy");
    let key = format!("faults:{}", uuid::Uuid::new_v4());
    assert!(
        limiter
            .hit(&key, 100, Duration::from_secs(60))
            .await
            .is_ok()
    );

    for outage in [Outage::Refuse, Outage::BlackHole] {
        proxy.cut(outage);
        for _ in 0..3 {
            fails_promptly(&limiter, &key).await;
        }
        proxy.heal();
        let healed = until_healed(&limiter, &key, Duration::from_secs(6)).await;
        eprintln!("{outage:?}: healed {healed:?} after the proxy did");
    }

    // A connection that goes silent without closing: the redis crate alone
    // would keep using it (every command timing out, forever).
    proxy.freeze();
    fails_promptly(&limiter, &key).await;
    proxy.heal();
    until_healed(&limiter, &key, Duration::from_secs(6)).await;
    let count = limiter
        .peek(&key, 100, Duration::from_secs(60))
        .await
        .expect("peek");
    assert!(
        matches!(count, RateDecision::Allowed { remaining } if remaining < 100),
        "the counts kept in Redis are used again: {count:?}"
    );
}

async fn post(
    http: &reqwest::Client,
    url: String,
    client_ip: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value, Option<String>, Duration) {
    let started = Instant::now();
    let mut req = http
        .post(url)
        .header("X-Forwarded-For", client_ip)
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, retry_after, started.elapsed())
}

// Several threads: the proxy must run while `TestServer::start` blocks one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_cut_chat_goes_on_logins_answer_503_and_both_heal() {
    if !redis_available(&format!("redis://{REDIS}")) {
        return;
    }
    let proxy = FaultProxy::start(REDIS).await;
    let fake = FakeOpenAi::start(Duration::from_millis(1)).await;
    let redis_url = format!("redis://127.0.0.1:{}/0", proxy.port());
    let server = TestServer::start(&[
        ("REDIS_URL", redis_url.as_str()),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-redis-faults"),
        ("RATE_LIMIT_CHAT_PER_MINUTE", "5"),
        ("LOGIN_MAX_FAILURES", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ]);
    // Redis outlives a run: a fresh user, tenant and client address per run.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let user = format!("redis{}", &run[..8]);
    let ip = format!("2001:db8::{}:{}", &run[..4], &run[4..8]);
    let http = reqwest::Client::new();
    let base = &server.base_url;
    let credentials = json!({"username": user, "password": "correct horse"});
    let (status, ..) = post(&http, format!("{base}/api/v1/auth/register"), &ip, None,
        json!({"username": user, "email": format!("{user}@example.com"), "password": "correct horse"})).await;
    assert_eq!(status, 201);
    let (status, tokens, ..) = post(
        &http,
        format!("{base}/api/v1/auth/token"),
        &ip,
        None,
        credentials.clone(),
    )
    .await;
    assert_eq!(status, 200);
    let token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let chat = |n: u32| {
        post(
            &http,
            format!("{base}/api/v1/chat"),
            &ip,
            Some(&token),
            json!({"message": format!("turn {n}"), "conversation_id": "redis"}),
        )
    };
    for n in 0..2 {
        assert_eq!(chat(n).await.0, 200, "counted in Redis");
    }

    proxy.cut(Outage::Refuse);
    for n in 2..9 {
        let (status, body, _, took) = chat(n).await;
        assert_eq!(status, 200, "chat fails open: {body}");
        assert!(took < PROMPT, "chat waited {took:?} on Redis");
    }
    let (status, body, retry_after, took) = post(
        &http,
        format!("{base}/api/v1/auth/token"),
        &ip,
        None,
        credentials.clone(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("service_unavailable"))
    );
    assert!(retry_after.is_some());
    assert!(took < PROMPT, "login waited {took:?} on Redis");

    proxy.heal();
    let started = Instant::now();
    loop {
        let (status, ..) = post(
            &http,
            format!("{base}/api/v1/auth/token"),
            &ip,
            None,
            credentials.clone(),
        )
        .await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "logins did not heal"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "logins healed {:?} after Redis came back",
        started.elapsed()
    );
    // The chat budget (5 a minute, 2 used before the outage; the turns let
    // through during it were not counted) is enforced again.
    let mut answered = 0;
    let refused = loop {
        let (status, body, retry_after, _) = chat(100 + answered).await;
        if status == 429 {
            break (body, retry_after);
        }
        assert_eq!(status, 200);
        answered += 1;
        assert!(answered <= 5, "the chat limit is not enforced again");
    };
    assert_eq!(refused.0["error"], "rate_limited");
    assert!(refused.1.is_some());
    assert!(
        answered >= 2,
        "earlier counts survive: {answered} more answered"
    );
}
