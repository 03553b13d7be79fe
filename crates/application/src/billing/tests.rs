//! Billing use cases against mocks of both ports: compensation when the
//! store refuses after the processor said yes, one customer and one trial
//! per tenant, and webhook replay.

use std::sync::Arc;

use agents_domain::account::{AccessClaims, Role, Tenant};
use agents_domain::billing::{
    BillingAccount, BillingError, BillingEvent, BillingEventKind, EventRecorded,
    GatewaySubscription, MockBillingStore, MockPaymentGateway, MockWebhookVerifier, Plan,
    ProcessorCustomer, SubscriptionSnapshot, SubscriptionStatus, WebhookError,
};
use agents_domain::clock::SystemClock;
use agents_domain::{PlanId, TenantId, UserId};
use time::OffsetDateTime;

use super::*;

fn owner(tenant: TenantId) -> Caller {
    Caller {
        user_id: UserId::new(),
        claims: AccessClaims {
            sub: String::new(),
            iat: 0,
            exp: 0,
            jti: String::new(),
            iss: String::new(),
            aud: String::new(),
        },
        tenant: Some((
            Tenant {
                id: tenant,
                slug: "t".into(),
                name: "T".into(),
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            Role::Owner,
        )),
        api_key: None,
    }
}

fn plan() -> Plan {
    Plan {
        id: PlanId::new(),
        code: "pro".into(),
        name: "Pro".into(),
        interval: "monthly".into(),
        interval_count: 1,
        price_cents: 9900,
        currency: "USD".into(),
        trial_days: None,
        seat_included: Some(5),
        feature_toggles: serde_json::Map::new(),
        is_active: true,
        stripe_price_id: Some("price_pro".into()),
        features: vec![],
    }
}

fn remote() -> GatewaySubscription {
    GatewaySubscription {
        processor: "stripe".into(),
        customer_id: Some("cus_1".into()),
        subscription_id: Some("sub_1".into()),
        status: SubscriptionStatus::Active,
        current_period_start: None,
        current_period_end: None,
        trial_ends_at: None,
        cancel_at: None,
    }
}

#[tokio::test]
async fn a_store_conflict_after_the_processor_created_it_cancels_the_processor_subscription() {
    let mut store = MockBillingStore::new();
    store.expect_plan().returning(|_| Ok(Some(plan())));
    store.expect_live_subscription().returning(|_| Ok(None));
    store
        .expect_billing_account()
        .returning(|_| Ok(account(true)));
    store
        .expect_create_subscription()
        .times(1)
        .returning(|_| Err(BillingError::AlreadySubscribed));
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway
        .expect_create_subscription()
        .withf(|r| r.seat_count == 5 && r.price_id.as_deref() == Some("price_pro"))
        .times(1)
        .returning(|_| Ok(remote()));
    gateway
        .expect_cancel_subscription()
        .withf(|id| id == "sub_1")
        .times(1)
        .returning(|_| Ok(remote()));
    let service = BillingService::new(
        Arc::new(store),
        Arc::new(gateway),
        Arc::new(SystemClock),
        BillingSettings::default(),
    );
    let input = NewSubscription {
        plan_code: "pro".into(),
        ..Default::default()
    };
    let err = service
        .start_subscription(&owner(TenantId::new()), input)
        .await
        .expect_err("conflict");
    assert!(
        matches!(err, BillingServiceError::AlreadySubscribed),
        "{err:?}"
    );
}

fn account(trial_used: bool) -> BillingAccount {
    BillingAccount {
        customer: Some(ProcessorCustomer {
            processor: "stripe".into(),
            customer_id: "cus_1".into(),
        }),
        trial_used,
    }
}

fn trial_plan() -> Plan {
    Plan {
        trial_days: Some(14),
        ..plan()
    }
}

async fn start(store: MockBillingStore, gateway: MockPaymentGateway) {
    let service = BillingService::new(
        Arc::new(store),
        Arc::new(gateway),
        Arc::new(SystemClock),
        BillingSettings::default(),
    );
    let input = NewSubscription {
        plan_code: "pro".into(),
        ..Default::default()
    };
    service
        .start_subscription(&owner(TenantId::new()), input)
        .await
        .expect("subscribed");
}

#[tokio::test]
async fn a_tenant_with_a_customer_and_a_used_trial_reuses_the_one_and_gets_no_other() {
    let mut store = MockBillingStore::new();
    store.expect_plan().returning(|_| Ok(Some(trial_plan())));
    store.expect_live_subscription().returning(|_| Ok(None));
    store
        .expect_billing_account()
        .returning(|_| Ok(account(true)));
    store.expect_save_customer().never();
    store
        .expect_create_subscription()
        .withf(|s| s.processor_customer_id.as_deref() == Some("cus_1"))
        .returning(Ok);
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway.expect_create_customer().never();
    gateway
        .expect_create_subscription()
        .withf(|r| r.customer_id.as_deref() == Some("cus_1") && r.trial_days.is_none())
        .times(1)
        .returning(|_| Ok(remote()));
    start(store, gateway).await;
}

#[tokio::test]
async fn a_new_tenant_gets_a_customer_stored_before_its_subscription_and_the_trial() {
    let mut store = MockBillingStore::new();
    store.expect_plan().returning(|_| Ok(Some(trial_plan())));
    store.expect_live_subscription().returning(|_| Ok(None));
    store
        .expect_billing_account()
        .returning(|_| Ok(BillingAccount::default()));
    store
        .expect_save_customer()
        .withf(|_, c| c.customer_id == "cus_new" && c.processor == "stripe")
        .times(1)
        .returning(|_, c| Ok(c));
    store.expect_create_subscription().returning(Ok);
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway
        .expect_create_customer()
        .times(1)
        .returning(|_| Ok(Some("cus_new".into())));
    gateway
        .expect_create_subscription()
        .withf(|r| r.customer_id.as_deref() == Some("cus_new") && r.trial_days == Some(14))
        .times(1)
        .returning(|_| Ok(remote()));
    start(store, gateway).await;
}

#[tokio::test]
async fn a_replayed_event_id_is_not_applied_twice_and_bad_signatures_touch_nothing() {
    let mut verifier = MockWebhookVerifier::new();
    verifier
        .expect_verify()
        .returning(|_, signature, _| match signature.as_deref() {
            Some("good") => Ok(BillingEvent {
                id: "evt_1".into(),
                created: OffsetDateTime::UNIX_EPOCH,
                kind: BillingEventKind::SubscriptionUpdated(SubscriptionSnapshot {
                    processor_subscription_id: "sub_unknown".into(),
                    status: SubscriptionStatus::PastDue,
                    current_period_start: None,
                    current_period_end: None,
                    trial_ends_at: None,
                    cancel_at: None,
                    seat_count: None,
                }),
            }),
            _ => Err(WebhookError::InvalidSignature),
        });
    let mut store = MockBillingStore::new();
    let mut seen = false;
    store
        .expect_apply_event()
        .withf(|e| e.event_id == "evt_1" && e.subscription.is_none() && e.invoice.is_none())
        .times(2)
        .returning(move |_| {
            let first = !seen;
            seen = true;
            Ok(if first {
                EventRecorded::Applied
            } else {
                EventRecorded::Duplicate
            })
        });
    store
        .expect_subscription_by_processor_id()
        .times(2)
        .returning(|_| Ok(None));
    let service = BillingService::new(
        Arc::new(store),
        Arc::new(MockPaymentGateway::new()),
        Arc::new(SystemClock),
        BillingSettings::default(),
    )
    .with_webhooks(Arc::new(verifier));
    let outcome = service.handle_webhook(b"{}", Some("good".into())).await;
    assert_eq!(
        outcome.ok(),
        Some(WebhookOutcome::Ignored),
        "unknown subscription"
    );
    let outcome = service.handle_webhook(b"{}", Some("good".into())).await;
    assert_eq!(outcome.ok(), Some(WebhookOutcome::Duplicate));
    let refused = service.handle_webhook(b"{}", Some("bad".into())).await;
    assert!(matches!(
        refused,
        Err(WebhookFailure::Refused(WebhookError::InvalidSignature))
    ));
}
