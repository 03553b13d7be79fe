//! Signature checks and event reading of the Stripe webhook verifier.

use super::*;
use agents_domain::billing::SubscriptionStatus;

const SECRET: &str = "whsec_test_secret";

fn sign(secret: &str, t: i64, payload: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{payload}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
}

fn subscription_event() -> String {
    serde_json::json!({
        "id": "evt_1", "type": "customer.subscription.updated", "created": 1_799_500_000,
        "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": "past_due",
            "cancel_at": null, "trial_end": null,
            "items": {"data": [{"id": "si_1", "quantity": 3,
                "current_period_start": 1_799_000_000, "current_period_end": 1_801_000_000}]}}}
    })
    .to_string()
}

#[test]
fn a_valid_signature_yields_the_event() {
    let payload = subscription_event();
    let t = now().unix_timestamp();
    let header = format!("t={t},v1={}", sign(SECRET, t, &payload));
    let event = StripeWebhookVerifier::new(SECRET)
        .verify(payload.as_bytes(), Some(header), now())
        .expect("verified");
    assert_eq!(event.id, "evt_1");
    assert_eq!(event.created, unix_time(Some(1_799_500_000)).expect("time"));
    let BillingEventKind::SubscriptionUpdated(s) = event.kind else {
        panic!("not a subscription update: {:?}", event.kind);
    };
    assert_eq!(s.processor_subscription_id, "sub_1");
    assert_eq!(s.status, SubscriptionStatus::PastDue);
    assert_eq!(s.seat_count, Some(3));
    assert_eq!(s.current_period_end, unix_time(Some(1_801_000_000)));
}

#[test]
fn any_of_several_v1_signatures_may_match() {
    let payload = subscription_event();
    let t = now().unix_timestamp();
    let header = format!(
        "t={t},v1={},v0=abc,v1={}",
        sign("whsec_old", t, &payload),
        sign(SECRET, t, &payload)
    );
    assert!(
        StripeWebhookVerifier::new(SECRET)
            .verify(payload.as_bytes(), Some(header), now())
            .is_ok()
    );
}

#[test]
fn wrong_secret_stale_timestamp_and_missing_header_are_refused() {
    let payload = subscription_event();
    let verifier = StripeWebhookVerifier::new(SECRET);
    let t = now().unix_timestamp();
    let wrong = format!("t={t},v1={}", sign("whsec_wrong", t, &payload));
    let stale_t = t - 301;
    let stale = format!("t={stale_t},v1={}", sign(SECRET, stale_t, &payload));
    let tampered = format!(
        "t={t},v1={}",
        sign(SECRET, t, &payload.replace("past_due", "active"))
    );
    for header in [
        Some(wrong),
        Some(stale),
        Some(tampered),
        Some("garbage".into()),
        None,
    ] {
        assert_eq!(
            verifier.verify(payload.as_bytes(), header.clone(), now()),
            Err(WebhookError::InvalidSignature),
            "{header:?}"
        );
    }
}

#[test]
fn a_signed_but_malformed_payload_is_malformed() {
    let t = now().unix_timestamp();
    for payload in [
        "{not json",
        r#"{"id":"evt_2","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1"}}}"#,
        // Without `created` an event cannot be ordered.
        r#"{"id":"evt_5","type":"customer.subscription.deleted","data":{"object":{"id":"sub_1","status":"canceled"}}}"#,
    ] {
        let header = format!("t={t},v1={}", sign(SECRET, t, payload));
        let result =
            StripeWebhookVerifier::new(SECRET).verify(payload.as_bytes(), Some(header), now());
        assert!(
            matches!(result, Err(WebhookError::Malformed(_))),
            "{payload}: {result:?}"
        );
    }
}

#[test]
fn invoices_are_read_from_the_current_api_shape_and_other_types_ignored() {
    let t = now().unix_timestamp();
    let payload = serde_json::json!({
        "id": "evt_3", "type": "invoice.paid", "created": 1_799_500_001,
        "data": {"object": {"id": "in_1", "amount_paid": 9900, "amount_due": 9900, "currency": "usd",
            "status": "paid", "hosted_invoice_url": "https://invoice.example/in_1",
            "period_start": 1_799_000_000, "period_end": 1_801_000_000,
            "parent": {"subscription_details": {"subscription": "sub_9"}}}}
    })
    .to_string();
    let header = format!("t={t},v1={}", sign(SECRET, t, &payload));
    let event = StripeWebhookVerifier::new(SECRET)
        .verify(payload.as_bytes(), Some(header), now())
        .expect("verified");
    let BillingEventKind::InvoicePaid(i) = event.kind else {
        panic!("not an invoice: {:?}", event.kind);
    };
    assert_eq!(i.processor_subscription_id, "sub_9");
    assert_eq!(
        (i.invoice.amount_cents, i.invoice.currency.as_str()),
        (9900, "USD")
    );

    let other = r#"{"id":"evt_4","type":"charge.refunded","created":1,"data":{"object":{}}}"#;
    let header = format!("t={t},v1={}", sign(SECRET, t, other));
    let event = StripeWebhookVerifier::new(SECRET)
        .verify(other.as_bytes(), Some(header), now())
        .expect("verified");
    assert_eq!(
        event.kind,
        BillingEventKind::Ignored("charge.refunded".into())
    );
}

#[test]
fn an_empty_secret_verifies_nothing_even_a_delivery_signed_with_the_empty_key() {
    let payload = subscription_event();
    let t = now().unix_timestamp();
    for secret in ["", "  "] {
        let header = format!("t={t},v1={}", sign(secret, t, &payload));
        let refused =
            StripeWebhookVerifier::new(secret).verify(payload.as_bytes(), Some(header), now());
        assert_eq!(refused, Err(WebhookError::NotConfigured));
    }
}
