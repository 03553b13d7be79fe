//! `StripeGateway` against a local server: paths, form fields, the bearer
//! key and `Idempotency-Key` headers, Stripe-shaped answers and error
//! bodies, the 429 retry and the timeout.

mod stub_http;

use std::time::Duration;

use agents_adapters::payments::{StripeConfig, StripeGateway};
use agents_domain::TenantId;
use agents_domain::billing::{
    GatewayError, MeterEvent, NewCustomer, NewGatewaySubscription, PaymentGateway,
    SubscriptionChange, SubscriptionStatus,
};
use serde_json::json;
use stub_http::{Recorded, Reply, StubServer};

const KEY: &str = "sk_test_123";

fn gateway(server: &StubServer) -> StripeGateway {
    let mut config = StripeConfig::new(server.url.clone(), KEY);
    config.timeout = Duration::from_millis(300);
    config.max_retries = 1;
    config.backoff = Duration::from_millis(10);
    StripeGateway::new(config).expect("client builds")
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn form(request: &Recorded) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf8")
    }
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn field(request: &Recorded, name: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn subscription_json(status: &str) -> String {
    json!({
        "id": "sub_123", "object": "subscription", "customer": "cus_123", "status": status,
        "trial_end": 1_800_000_000, "cancel_at": null,
        "items": {"data": [{"id": "si_1", "quantity": 2,
            "current_period_start": 1_799_000_000, "current_period_end": 1_801_600_000}]}
    })
    .to_string()
}

fn new_subscription() -> NewGatewaySubscription {
    NewGatewaySubscription {
        tenant_id: TenantId::new(),
        customer_id: Some("cus_123".into()),
        billing_email: Some("billing@example.com".into()),
        plan_code: "pro".into(),
        price_id: Some("price_pro".into()),
        seat_count: 2,
        trial_days: Some(14),
        idempotency_key: "subscription-abc".into(),
    }
}

#[tokio::test]
async fn a_customer_is_created_once_per_tenant_with_a_key_derived_from_the_tenant() {
    let server = StubServer::start(vec![
        Reply::json(200, r#"{"id":"cus_123","object":"customer"}"#, &[]),
        Reply::json(200, r#"{"id":"cus_123","object":"customer"}"#, &[]),
        Reply::json(200, r#"{"id":"cus_456","object":"customer"}"#, &[]),
    ])
    .await;
    let gateway = gateway(&server);
    let tenant = TenantId::new();
    let request = |tenant| NewCustomer {
        tenant_id: tenant,
        billing_email: Some("billing@example.com".into()),
    };
    for _ in 0..2 {
        let id = gateway
            .create_customer(request(tenant))
            .await
            .expect("customer");
        assert_eq!(id.as_deref(), Some("cus_123"));
    }
    gateway
        .create_customer(request(TenantId::new()))
        .await
        .expect("other tenant");
    let requests = server.requests();
    let customer = &requests[0];
    assert_eq!(customer.path, "/v1/customers");
    assert_eq!(customer.header("authorization"), Some("Bearer sk_test_123"));
    assert_eq!(
        field(customer, "email").as_deref(),
        Some("billing@example.com")
    );
    assert_eq!(
        field(customer, "metadata[tenant_id]"),
        Some(tenant.to_string())
    );
    let key = customer.header("idempotency-key").expect("key");
    assert!(key.contains(&tenant.to_string()), "{key}");
    assert_eq!(
        requests[1].header("idempotency-key"),
        Some(key),
        "a retry for the tenant is the same creation at Stripe"
    );
    assert_ne!(requests[2].header("idempotency-key"), Some(key));
}

#[tokio::test]
async fn creating_a_subscription_posts_it_for_the_given_customer_as_a_form() {
    let server =
        StubServer::start(vec![Reply::json(200, &subscription_json("trialing"), &[])]).await;
    let request = new_subscription();
    let tenant = request.tenant_id.to_string();
    let created = gateway(&server)
        .create_subscription(request)
        .await
        .expect("created");
    assert_eq!(created.processor, "stripe");
    assert_eq!(created.customer_id.as_deref(), Some("cus_123"));
    assert_eq!(created.subscription_id.as_deref(), Some("sub_123"));
    assert_eq!(created.status, SubscriptionStatus::Trialing);
    assert_eq!(
        created.current_period_end.map(|t| t.unix_timestamp()),
        Some(1_801_600_000)
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "no second customer");
    let subscription = &requests[0];
    assert_eq!(subscription.method, "POST");
    assert_eq!(
        subscription.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(subscription.path, "/v1/subscriptions");
    assert_eq!(
        subscription.header("idempotency-key"),
        Some("subscription-abc-subscription")
    );
    assert_eq!(field(subscription, "customer").as_deref(), Some("cus_123"));
    assert_eq!(
        field(subscription, "items[0][price]").as_deref(),
        Some("price_pro")
    );
    assert_eq!(
        field(subscription, "items[0][quantity]").as_deref(),
        Some("2")
    );
    assert_eq!(
        field(subscription, "trial_period_days").as_deref(),
        Some("14")
    );
    assert_eq!(field(subscription, "metadata[tenant_id]"), Some(tenant));

    let mut without_customer = new_subscription();
    without_customer.customer_id = None;
    let err = gateway(&server)
        .create_subscription(without_customer)
        .await
        .expect_err("no customer");
    assert!(matches!(err, GatewayError::Rejected(_)), "{err:?}");
}

#[tokio::test]
async fn a_plan_without_a_price_is_rejected_before_any_request() {
    let server = StubServer::start(vec![]).await;
    let mut request = new_subscription();
    request.price_id = None;
    let err = gateway(&server)
        .create_subscription(request)
        .await
        .expect_err("no price");
    assert!(matches!(err, GatewayError::Rejected(_)), "{err:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn stripe_error_bodies_map_to_declined_rejected_and_unavailable_without_retrying_4xx() {
    let declined = r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;
    let invalid = r#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such price: 'price_pro'"}}"#;
    let auth = r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****123"}}"#;
    let server = StubServer::start(vec![
        Reply::json(402, declined, &[]),
        Reply::json(400, invalid, &[]),
        Reply::json(401, auth, &[]),
    ])
    .await;
    let gateway = gateway(&server);
    let err = gateway
        .create_subscription(new_subscription())
        .await
        .expect_err("declined");
    assert!(
        matches!(&err, GatewayError::Declined(m) if m.contains("insufficient_funds")),
        "{err:?}"
    );
    let err = gateway
        .create_subscription(new_subscription())
        .await
        .expect_err("rejected");
    assert!(
        matches!(&err, GatewayError::Rejected(m) if m.contains("resource_missing")),
        "{err:?}"
    );
    let err = gateway
        .cancel_subscription("sub_123")
        .await
        .expect_err("auth");
    assert!(matches!(&err, GatewayError::Unavailable(_)), "{err:?}");
    assert!(
        !err.to_string().contains("sk_test"),
        "the key leaked: {err}"
    );
    assert_eq!(server.requests().len(), 3, "4xx answers are not retried");
}

#[tokio::test]
async fn a_429_is_retried_with_the_same_idempotency_key() {
    let limited = r#"{"error":{"type":"rate_limit_error","message":"Too many requests"}}"#;
    let server = StubServer::start(vec![
        Reply::json(429, limited, &[("retry-after", "0")]),
        Reply::json(
            200,
            r#"{"object":"billing.meter_event","event_name":"messages"}"#,
            &[],
        ),
    ])
    .await;
    let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
    let tenant = TenantId::new();
    gateway(&server)
        .report_usage(meter_event(tenant, "chat-1-messages", at))
        .await
        .expect("reported after a retry");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );
    let r = &requests[1];
    assert_eq!(r.path, "/v1/billing/meter_events");
    assert_eq!(field(r, "event_name").as_deref(), Some("messages"));
    assert_eq!(
        field(r, "payload[stripe_customer_id]").as_deref(),
        Some("cus_123")
    );
    assert_eq!(field(r, "payload[value]").as_deref(), Some("3"));
    assert_eq!(
        field(r, "identifier"),
        Some(format!("{tenant}:chat-1-messages"))
    );
    assert_eq!(field(r, "timestamp").as_deref(), Some("1800000000"));
}

#[tokio::test]
async fn persistent_5xx_and_timeouts_end_unavailable_after_the_retries() {
    let server = StubServer::start(vec![
        Reply::json(
            500,
            r#"{"error":{"type":"api_error","message":"boom"}}"#,
            &[],
        ),
        Reply::json(503, "{}", &[]),
        Reply::silent(Duration::from_secs(2)),
        Reply::silent(Duration::from_secs(2)),
    ])
    .await;
    let gateway = gateway(&server);
    let err = gateway
        .cancel_subscription("sub_123")
        .await
        .expect_err("5xx");
    assert!(matches!(err, GatewayError::Unavailable(_)), "{err:?}");
    let started = std::time::Instant::now();
    let err = gateway
        .cancel_subscription("sub_123")
        .await
        .expect_err("timeout");
    assert!(
        matches!(&err, GatewayError::Unavailable(m) if m.contains("timed out")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout was not applied"
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn updates_read_the_item_then_post_price_quantity_and_cancel_flag_and_cancel_deletes() {
    let server = StubServer::start(vec![
        Reply::json(200, &subscription_json("active"), &[]),
        Reply::json(200, &subscription_json("active"), &[]),
        Reply::json(200, &subscription_json("canceled"), &[]),
    ])
    .await;
    let gateway = gateway(&server);
    let change = SubscriptionChange {
        price_id: Some("price_team".into()),
        seat_count: Some(4),
        cancel_at_period_end: Some(true),
    };
    let updated = gateway
        .update_subscription("sub_123", change)
        .await
        .expect("updated");
    assert_eq!(updated.status, SubscriptionStatus::Active);
    let canceled = gateway
        .cancel_subscription("sub_123")
        .await
        .expect("canceled");
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);

    let requests = server.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("GET", "/v1/subscriptions/sub_123"),
            ("POST", "/v1/subscriptions/sub_123"),
            ("DELETE", "/v1/subscriptions/sub_123"),
        ]
    );
    let post = &requests[1];
    assert!(
        post.header("idempotency-key")
            .is_some_and(|k| !k.is_empty())
    );
    assert_eq!(field(post, "items[0][id]").as_deref(), Some("si_1"));
    assert_eq!(
        field(post, "items[0][price]").as_deref(),
        Some("price_team")
    );
    assert_eq!(field(post, "items[0][quantity]").as_deref(), Some("4"));
    assert_eq!(field(post, "cancel_at_period_end").as_deref(), Some("true"));
    assert!(
        gateway
            .cancel_subscription("../v1/customers")
            .await
            .is_err()
    );
}

fn meter_event(tenant: TenantId, key: &str, at: time::OffsetDateTime) -> MeterEvent {
    MeterEvent {
        tenant_id: tenant,
        customer_id: "cus_123".into(),
        feature_key: "messages".into(),
        quantity: 3,
        idempotency_key: key.into(),
        at,
    }
}

#[tokio::test]
async fn meter_identifiers_are_unique_across_tenants_stable_per_report_and_fit_stripe() {
    let ok = || Reply::json(200, r#"{"object":"billing.meter_event"}"#, &[]);
    let server = StubServer::start((0..5).map(|_| ok()).collect()).await;
    let gateway = gateway(&server);
    let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
    let (first, second) = (TenantId::new(), TenantId::new());
    let long_key = "k".repeat(128);
    for (tenant, key) in [
        (first, "abc"),
        (second, "abc"),
        (first, "abc"),
        (first, long_key.as_str()),
        (second, long_key.as_str()),
    ] {
        gateway
            .report_usage(meter_event(tenant, key, at))
            .await
            .expect("reported");
    }
    let requests = server.requests();
    let ids: Vec<String> = requests
        .iter()
        .map(|r| field(r, "identifier").expect("identifier"))
        .collect();
    assert_ne!(ids[0], ids[1], "two tenants, one key: two events");
    assert_eq!(ids[0], ids[2], "a retried report is the same event");
    assert_ne!(ids[3], ids[4]);
    for (id, request) in ids.iter().zip(&requests) {
        assert!(id.len() <= 100, "{id} is longer than Stripe allows");
        assert_eq!(
            request.header("idempotency-key"),
            Some(format!("meter-{id}").as_str())
        );
    }
    assert!(ids[3].starts_with(&first.to_string()), "{}", ids[3]);
}
