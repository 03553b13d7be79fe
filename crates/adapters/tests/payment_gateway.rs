//! The `PaymentGateway` contract, written once and run against the local
//! gateway and the Stripe gateway (over a local server answering as Stripe
//! does): what the billing service relies on whichever processor is set.

mod stub_http;

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::payments::{LocalGateway, StripeConfig, StripeGateway};
use agents_domain::TenantId;
use agents_domain::billing::{
    MeterEvent, NewGatewaySubscription, PaymentGateway, SubscriptionStatus,
};
use agents_domain::clock::SystemClock;
use stub_http::{Reply, StubServer};

/// What Stripe answers to a subscription created with a trial.
const TRIALING: &str = r#"{"id": "sub_1", "object": "subscription", "customer": "cus_1",
    "status": "trialing", "trial_end": 1800000000, "cancel_at": null,
    "items": {"data": [{"id": "si_1", "quantity": 2,
        "current_period_start": 1799000000, "current_period_end": 1801600000}]}}"#;

/// A gateway of each kind; the Stripe one answers `replies` in order (the
/// server is kept alive with it).
async fn gateways(replies: Vec<Reply>) -> Vec<(Arc<dyn PaymentGateway>, Option<StubServer>)> {
    let server = StubServer::start(replies).await;
    let mut config = StripeConfig::new(server.url.clone(), "sk_test_contract");
    config.timeout = Duration::from_millis(500);
    config.max_retries = 0;
    let stripe = StripeGateway::new(config).expect("client builds");
    vec![
        (Arc::new(LocalGateway::new(Arc::new(SystemClock))), None),
        (Arc::new(stripe), Some(server)),
    ]
}

fn subscription_request() -> NewGatewaySubscription {
    NewGatewaySubscription {
        tenant_id: TenantId::new(),
        customer_id: Some("cus_1".into()),
        billing_email: Some("billing@example.com".into()),
        plan_code: "pro".into(),
        price_id: Some("price_pro".into()),
        seat_count: 2,
        trial_days: Some(14),
        idempotency_key: "contract-subscription".into(),
    }
}

#[tokio::test]
async fn a_subscription_with_a_trial_starts_trialing_with_its_period_ahead() {
    for (gateway, _server) in gateways(vec![Reply::json(200, TRIALING, &[])]).await {
        let name = gateway.name();
        assert!(!name.is_empty());
        let created = gateway
            .create_subscription(subscription_request())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(created.processor, name);
        assert_eq!(created.status, SubscriptionStatus::Trialing, "{name}");
        let (start, end) = (created.current_period_start, created.current_period_end);
        assert!(
            matches!((start, end), (Some(s), Some(e)) if s < e),
            "{name}: {start:?}..{end:?}"
        );
        assert!(created.trial_ends_at.is_some(), "{name}");
        assert_eq!(created.cancel_at, None, "{name}");
    }
}

#[tokio::test]
async fn a_usage_report_is_accepted() {
    let ok = Reply::json(200, r#"{"object":"billing.meter_event"}"#, &[]);
    for (gateway, _server) in gateways(vec![ok]).await {
        let event = MeterEvent {
            tenant_id: TenantId::new(),
            customer_id: "cus_1".into(),
            feature_key: "messages".into(),
            quantity: 3,
            idempotency_key: "contract-usage".into(),
            at: time::OffsetDateTime::now_utc(),
        };
        let name = gateway.name();
        gateway
            .report_usage(event)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
