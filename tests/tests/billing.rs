//! Billing through the real binary: secrets that must not be empty, and the
//! `tokens` budget a model call is capped at (fake OpenAI server).

use std::time::Duration;

use agents_adapters::payments::StripeWebhookVerifier;
use agents_e2e::fake_openai::FakeOpenAi;
use agents_e2e::{TestServer, run_to_exit};
use serde_json::{Value, json};

#[test]
fn billing_with_stripe_and_an_empty_webhook_secret_refuses_to_start_naming_it() {
    for secret in ["", "   "] {
        let (status, stderr) = run_to_exit(
            &[],
            &[
                ("USE_IN_MEMORY_REPO", "true"),
                ("ENABLE_BILLING", "true"),
                ("STRIPE_SECRET_KEY", "sk_test_e2e"),
                ("STRIPE_WEBHOOK_SECRET", secret),
            ],
        );
        assert!(!status.success(), "started with {secret:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("STRIPE_WEBHOOK_SECRET"), "{stderr}");
    }
}

#[tokio::test]
async fn an_event_signed_with_the_empty_key_is_never_applied() {
    // The local gateway starts without a webhook secret; the empty one is unset.
    let server = TestServer::start(&[
        ("ENABLE_BILLING", "true"),
        ("STRIPE_SECRET_KEY", ""),
        ("STRIPE_WEBHOOK_SECRET", ""),
    ]);
    let payload = json!({"id": "evt_forged", "type": "customer.subscription.deleted", "created": 1,
        "data": {"object": {"id": "sub_any", "status": "canceled"}}})
    .to_string();
    let signature = StripeWebhookVerifier::new("")
        .signature_header(payload.as_bytes(), time::OffsetDateTime::now_utc());
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/billing/webhooks/stripe",
            server.base_url
        ))
        .header("Stripe-Signature", signature)
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .expect("webhook");
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "service_unavailable", "{body}");
}

/// Registers `name` and returns its access token.
async fn token(http: &reqwest::Client, base: &str, name: &str) -> String {
    let register = json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"});
    let res = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&register)
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), 201);
    let login = json!({"username": name, "password": "correct horse"});
    let body: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&login)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

/// A server with billing on and a `tokens` limit of 100 on the default
/// plan, talking to `fake`.
fn tokens_limited_server(fake: &FakeOpenAi, extra: &[(&str, &str)]) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("agents.toml"),
        "[plans.starter.features.tokens]\nhard_limit = 100\n",
    )
    .expect("config file");
    let mut envs = vec![
        ("ENABLE_BILLING", "true"),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-e2e"),
    ];
    envs.extend_from_slice(extra);
    TestServer::start_in(dir, &envs)
}

#[tokio::test]
async fn a_tokens_limit_caps_the_model_call_and_the_turn_stores_what_came_back() {
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    let server = tokens_limited_server(&fake, &[]);
    let http = reqwest::Client::new();
    let base = &server.base_url;
    let token = token(&http, base, "verbose").await;
    let res = http
        .post(format!("{base}/api/v1/chat"))
        .bearer_auth(&token)
        .json(&json!({"message": "say 300 words", "conversation_id": "long-1"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.expect("json");
    let (_, sent) = fake.requests().pop().expect("the model was called");
    assert_eq!(sent["max_completion_tokens"], 100, "{sent}");
    assert!(sent.get("max_tokens").is_none(), "{sent}");
    let answer = reply["response"].as_str().unwrap_or_default();
    assert_eq!(answer.split_whitespace().count(), 100, "cut at the cap");
    assert!(answer.starts_with("word1 ") && answer.trim_end().ends_with("word100"));

    let conversation: Value = http
        .get(format!("{base}/api/v1/conversations/long-1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        conversation["messages"][1]["content"], answer,
        "the stored answer is what came back"
    );
    // 12 prompt + 100 completion tokens used of 100: the next turn is refused.
    let res = http
        .post(format!("{base}/api/v1/chat"))
        .bearer_auth(&token)
        .json(&json!({"message": "more"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "quota_exceeded", "{body}");
    assert_eq!(fake.requests().len(), 1, "the model is not asked again");
}

#[tokio::test]
async fn openai_max_tokens_field_selects_the_older_field_for_the_cap() {
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    let server = tokens_limited_server(&fake, &[("OPENAI_MAX_TOKENS_FIELD", "max_tokens")]);
    let http = reqwest::Client::new();
    let token = token(&http, &server.base_url, "legacy").await;
    let res = http
        .post(format!("{}/api/v1/chat", server.base_url))
        .bearer_auth(&token)
        .json(&json!({"message": "say 3 words"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 200);
    let (_, sent) = fake.requests().pop().expect("the model was called");
    assert_eq!(sent["max_tokens"], 100, "{sent}");
    assert!(sent.get("max_completion_tokens").is_none(), "{sent}");
}
