//! Two server processes sharing one Postgres and one Redis: any replica can
//! serve any request.

use std::time::Duration;

use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;
use agents_e2e::postgres::{TestDatabase, redis_available};
use serde_json::{Value, json};

const REDIS_URL: &str = "redis://127.0.0.1:6379/0";
const SECRET: &str = "scale-out-shared-secret-0123456789abcdef";

async fn post(
    http: &reqwest::Client,
    client_ip: &str,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = http
        .post(url)
        .header("X-Forwarded-For", client_ip)
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn two_replicas_share_conversations_tokens_and_limits() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    if !redis_available(REDIS_URL) {
        return;
    }
    let fake = FakeOpenAi::start(Duration::from_millis(1)).await;
    // A unique limiter namespace per run keeps reruns independent.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let user = format!("scale{}", &run[..8]);
    let client_ip = format!("2001:db8::{}:{}", &run[..4], &run[4..8]);
    let envs = [
        ("DATABASE_URL", database.url.as_str()),
        ("AUTO_RUN_MIGRATIONS", "true"),
        ("REDIS_URL", REDIS_URL),
        ("SECRET_KEY", SECRET),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-scale"),
        ("LOGIN_MAX_FAILURES", "3"),
        ("RATE_LIMIT_CHAT_PER_MINUTE", "3"),
        // Redis outlives a run: a per-run client address (believed from this
        // trusted proxy) keeps address-keyed limits of earlier runs away.
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ];
    let a = TestServer::start(&envs);
    let b = TestServer::start(&envs);
    let http = reqwest::Client::new();

    let (status, _, _) = post(&http, &client_ip, format!("{}/api/v1/auth/register", a.base_url), None,
        json!({"username": user, "email": format!("{user}@example.com"), "password": "correct horse"})).await;
    assert_eq!(status, 201);
    let (status, tokens, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/token", b.base_url),
        None,
        json!({"username": user, "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 200, "a user registered on A logs in on B");
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // A conversation started on A continues on B, with its history.
    let (status, _, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/chat", a.base_url),
        Some(&access),
        json!({"message": "first on A", "conversation_id": "spread"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/chat", b.base_url),
        Some(&access),
        json!({"message": "then on B", "conversation_id": "spread"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["response"],
        "You said: then on B. I have seen 2 earlier messages."
    );

    // The tenant's chat budget (3 a minute) is shared: a third turn on A, then B refuses.
    let (status, _, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/chat", a.base_url),
        Some(&access),
        json!({"message": "third", "conversation_id": "spread"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, headers) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/chat", b.base_url),
        Some(&access),
        json!({"message": "fourth", "conversation_id": "spread"}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(headers.contains_key("retry-after"));

    // A refresh rotated on A and retried on B (its answer lost) gets the
    // same new token: the successor is derived from the shared key.
    let (status, first, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/refresh", a.base_url),
        None,
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, retried, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/refresh", b.base_url),
        None,
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!(retried["refresh_token"], first["refresh_token"]);
    // Once the new token is used (on B), the old one replayed on A is theft.
    let (status, _, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/refresh", b.base_url),
        None,
        json!({"refresh_token": first["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/refresh", a.base_url),
        None,
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // Failed logins counted on A, from an attacker's address, throttle the
    // account on B for an address it never logged in from...
    let attacker = format!("2001:db8::{}:{}", &run[8..12], &run[12..16]);
    let stranger = format!("2001:db8::{}:{}", &run[16..20], &run[20..24]);
    for _ in 0..3 {
        let (status, _, _) = post(
            &http,
            &attacker,
            format!("{}/api/v1/auth/token", a.base_url),
            None,
            json!({"username": user, "password": "wrong password"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, body, headers) = post(
        &http,
        &stranger,
        format!("{}/api/v1/auth/token", b.base_url),
        None,
        json!({"username": user, "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
    // ...but not for the address the user logged in from before (on B).
    let (status, body, _) = post(
        &http,
        &client_ip,
        format!("{}/api/v1/auth/token", b.base_url),
        None,
        json!({"username": user, "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
