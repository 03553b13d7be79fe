//! Billing through the real binary: secrets that must not be empty.

use agents_adapters::payments::StripeWebhookVerifier;
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
