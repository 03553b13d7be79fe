//! Metered usage reaching Stripe (a local stub of its API) through the
//! billing use case, on every store: two tenants that use the same
//! idempotency key are two meter events, each carrying its tenant.

mod contract;
mod stub_http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_adapters::payments::{StripeConfig, StripeGateway};
use agents_application::billing::{NewSubscription, UsageInput};
use agents_domain::account::Role;
use contract::billing::{caller, service};
use contract::{Fixture, register};
use serde_json::json;
use stub_http::{Recorded, Reply, StubServer};

fn subscription(id: &str, customer: &str) -> Reply {
    let body = json!({"id": id, "object": "subscription", "customer": customer,
        "status": "active", "items": {"data": [{"id": "si_1", "quantity": 1,
        "current_period_start": 1_799_000_000, "current_period_end": 1_801_600_000}]}});
    Reply::json(200, &body.to_string(), &[])
}

fn customer(id: &str) -> Reply {
    Reply::json(
        200,
        &json!({"id": id, "object": "customer"}).to_string(),
        &[],
    )
}

/// The form field `name` of a recorded request (values here need no decoding
/// beyond `:`, which forms encode as `%3A`).
fn field(request: &Recorded, name: &str) -> Option<String> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.replace("%3A", ":"))
}

async fn two_tenants_with_one_usage_key_are_two_meter_events(f: Fixture) {
    let meter = || Reply::json(200, r#"{"object":"billing.meter_event"}"#, &[]);
    let stripe = StubServer::start(vec![
        customer("cus_a"),
        subscription("sub_a", "cus_a"),
        customer("cus_b"),
        subscription("sub_b", "cus_b"),
        meter(),
        meter(),
    ])
    .await;
    let mut config = StripeConfig::new(stripe.url.clone(), "sk_test_meter");
    config.max_retries = 0;
    let gateway = StripeGateway::new(config).expect("gateway");
    let service = service(&f, Arc::new(gateway)).await;
    let mut tenants = Vec::new();
    for name in ["alpha", "beta"] {
        let (_, tenant) = register(&f, name).await;
        let admin = caller(tenant, Role::Admin);
        let pro = NewSubscription {
            plan_code: "pro".into(),
            ..Default::default()
        };
        service
            .start_subscription(&admin, pro)
            .await
            .expect("subscribed at the stub");
        tenants.push(tenant);
    }
    // Usage only after both subscriptions: the stub answers in order.
    for tenant in &tenants {
        let usage = UsageInput {
            feature_key: "messages".into(),
            quantity: 2,
            idempotency_key: Some("abc".into()),
            ..Default::default()
        };
        service
            .record_usage(&caller(*tenant, Role::Admin), usage)
            .await
            .expect("recorded");
    }
    // Metered usage is forwarded in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events: Vec<Recorded> = stripe
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/billing/meter_events")
            .collect();
        if events.len() == 2 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(events.len(), 2, "both tenants' usage reached Stripe");
    let mut identifiers: Vec<String> = events
        .iter()
        .map(|r| field(r, "identifier").expect("identifier"))
        .collect();
    identifiers.sort();
    let mut expected: Vec<String> = tenants.iter().map(|t| format!("{t}:abc")).collect();
    expected.sort();
    assert_eq!(identifiers, expected);
}

contract_tests!(two_tenants_with_one_usage_key_are_two_meter_events);
