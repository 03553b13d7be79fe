//! The billing use cases over each store (memory, SQLite, Postgres) and a
//! mockall gateway: the gateway is called with the right arguments, a
//! gateway failure leaves no subscription, one customer and one trial per
//! tenant, roles, conflicts, cancellation and idempotent, bounded usage.

mod contract;

use std::sync::Arc;

use agents_adapters::payments::LocalGateway;
use agents_application::billing::{
    BillingServiceError, NewSubscription, SubscriptionPatch, UsageInput,
};
use agents_domain::account::Role;
use agents_domain::billing::{
    GatewayError, GatewaySubscription, MockPaymentGateway, SubscriptionStatus, UsageRecorded,
};
use agents_domain::clock::SystemClock;
use contract::billing::{caller, service};
use contract::{Fixture, register};
use time::OffsetDateTime;

fn stripe_answer() -> GatewaySubscription {
    let now = OffsetDateTime::now_utc();
    GatewaySubscription {
        processor: "stripe".into(),
        customer_id: Some("cus_1".into()),
        subscription_id: Some("sub_1".into()),
        status: SubscriptionStatus::Trialing,
        current_period_start: Some(now - time::Duration::days(1)),
        current_period_end: Some(now + time::Duration::days(29)),
        trial_ends_at: Some(now + time::Duration::days(14)),
        cancel_at: None,
    }
}

fn pro(seats: Option<i64>) -> NewSubscription {
    NewSubscription {
        plan_code: "pro".into(),
        billing_email: Some("billing@acme.test".into()),
        auto_renew: None,
        seat_count: seats,
    }
}

async fn starting_a_subscription_sends_the_plan_price_seats_and_trial_and_stores_the_answer(
    f: Fixture,
) {
    let (_, tenant) = register(&f, "acme").await;
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway
        .expect_create_customer()
        .withf(move |r| {
            r.tenant_id == tenant && r.billing_email.as_deref() == Some("billing@acme.test")
        })
        .times(1)
        .returning(|_| Ok(Some("cus_1".into())));
    gateway
        .expect_create_subscription()
        .withf(move |r| {
            r.tenant_id == tenant
                && r.customer_id.as_deref() == Some("cus_1")
                && r.plan_code == "pro"
                && r.price_id.as_deref() == Some("price_pro")
                && r.seat_count == 3
                && r.trial_days == Some(14)
                && r.billing_email.as_deref() == Some("billing@acme.test")
                && r.idempotency_key.starts_with("subscription-")
        })
        .times(1)
        .returning(|_| Ok(stripe_answer()));
    let service = service(&f, Arc::new(gateway)).await;
    let s = service
        .start_subscription(&caller(tenant, Role::Admin), pro(Some(3)))
        .await
        .expect("subscribed");
    assert_eq!(
        (s.plan_code.as_str(), s.status),
        ("pro", SubscriptionStatus::Trialing)
    );
    assert_eq!(s.processor_subscription_id.as_deref(), Some("sub_1"));
    assert_eq!((s.seat_count, s.auto_renew), (Some(3), true));
    let live = f
        .billing
        .live_subscription(tenant)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(live.id, s.id);
}

async fn a_gateway_failure_leaves_no_subscription_behind(f: Fixture) {
    let (_, tenant) = register(&f, "acme").await;
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway
        .expect_create_customer()
        .times(1)
        .returning(|_| Ok(Some("cus_1".into())));
    gateway
        .expect_create_subscription()
        .times(1)
        .returning(|_| Err(GatewayError::Declined("card_declined".into())));
    let service = service(&f, Arc::new(gateway)).await;
    let err = service
        .start_subscription(&caller(tenant, Role::Owner), pro(None))
        .await
        .expect_err("declined");
    assert!(
        matches!(err, BillingServiceError::Payment(GatewayError::Declined(_))),
        "{err:?}"
    );
    assert!(
        f.billing
            .live_subscription(tenant)
            .await
            .expect("read")
            .is_none()
    );
    let account = f.billing.billing_account(tenant).await.expect("account");
    assert!(!account.trial_used, "a declined subscription used no trial");
    assert_eq!(
        account.customer.map(|c| c.customer_id).as_deref(),
        Some("cus_1"),
        "the customer is kept for the next attempt"
    );
}

async fn viewers_read_but_never_mutate_and_the_gateway_is_not_asked(f: Fixture) {
    let (_, tenant) = register(&f, "acme").await;
    let gateway = MockPaymentGateway::new(); // any call would panic
    let service = service(&f, Arc::new(gateway)).await;
    let viewer = caller(tenant, Role::Viewer);
    fn forbidden<T>(r: Result<T, BillingServiceError>) -> bool {
        matches!(r, Err(BillingServiceError::Forbidden))
    }
    assert!(forbidden(
        service.start_subscription(&viewer, pro(None)).await
    ));
    let patch = SubscriptionPatch {
        auto_renew: Some(false),
        ..Default::default()
    };
    assert!(forbidden(service.update_subscription(&viewer, patch).await));
    assert!(forbidden(service.cancel_subscription(&viewer, false).await));
    let usage = UsageInput {
        feature_key: "messages".into(),
        quantity: 1,
        ..Default::default()
    };
    assert!(forbidden(service.record_usage(&viewer, usage).await));
    assert!(matches!(
        service.subscription(&viewer).await,
        Err(BillingServiceError::SubscriptionNotFound)
    ));
    assert!(service.usage(&viewer, None, None).await.is_ok());
}

async fn local_subscriptions_conflict_change_cancel_and_resubscribe(f: Fixture) {
    let (_, tenant) = register(&f, "acme").await;
    let service = service(&f, Arc::new(LocalGateway::new(Arc::new(SystemClock)))).await;
    let owner = caller(tenant, Role::Owner);
    let unknown = NewSubscription {
        plan_code: "gold".into(),
        ..Default::default()
    };
    assert!(matches!(
        service.start_subscription(&owner, unknown).await,
        Err(BillingServiceError::PlanNotFound(_))
    ));
    let s = service
        .start_subscription(&owner, pro(None))
        .await
        .expect("subscribed");
    assert_eq!(s.processor.as_deref(), Some("local"));
    assert_eq!(
        s.processor_subscription_id, None,
        "no made-up processor ids"
    );
    assert_eq!(s.status, SubscriptionStatus::Trialing);
    assert!(matches!(
        service.start_subscription(&owner, pro(None)).await,
        Err(BillingServiceError::AlreadySubscribed)
    ));
    assert!(matches!(
        service
            .update_subscription(&owner, SubscriptionPatch::default())
            .await,
        Err(BillingServiceError::EmptyUpdate)
    ));
    let bad = SubscriptionPatch {
        seat_count: Some(0),
        ..Default::default()
    };
    assert!(matches!(
        service.update_subscription(&owner, bad).await,
        Err(BillingServiceError::Invalid(_))
    ));
    let patch = SubscriptionPatch {
        plan_code: Some("starter".into()),
        seat_count: Some(2),
        ..Default::default()
    };
    let changed = service
        .update_subscription(&owner, patch)
        .await
        .expect("changed");
    assert_eq!(
        (changed.plan_code.as_str(), changed.seat_count),
        ("starter", Some(2))
    );

    let later = service
        .cancel_subscription(&owner, true)
        .await
        .expect("cancel at end");
    assert_eq!(later.status, SubscriptionStatus::Trialing, "status kept");
    assert_eq!(later.cancel_at, later.current_period_end);
    let now = service
        .cancel_subscription(&owner, false)
        .await
        .expect("cancel now");
    assert_eq!(now.status, SubscriptionStatus::Canceled);
    assert!(matches!(
        service.subscription(&owner).await,
        Err(BillingServiceError::SubscriptionNotFound)
    ));
    service
        .start_subscription(&owner, pro(None))
        .await
        .expect("subscribes again");
}

async fn a_processor_managed_plan_change_sends_the_new_price_and_cancel_now_deletes(f: Fixture) {
    let (_, tenant) = register(&f, "acme").await;
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_name().return_const("stripe");
    gateway
        .expect_create_customer()
        .times(1)
        .returning(|_| Ok(Some("cus_1".into())));
    let mut created = 0;
    gateway
        .expect_create_subscription()
        .times(2)
        .returning(move |r| {
            created += 1;
            // The second subscription reuses the customer and has no trial.
            assert_eq!(r.customer_id.as_deref(), Some("cus_1"));
            assert_eq!(r.trial_days, if created == 1 { Some(14) } else { None });
            Ok(GatewaySubscription {
                subscription_id: Some(format!("sub_{created}")),
                trial_ends_at: (created == 1)
                    .then(|| stripe_answer().trial_ends_at)
                    .flatten(),
                ..stripe_answer()
            })
        });
    gateway
        .expect_update_subscription()
        .withf(|id, change| {
            id == "sub_1"
                && change.price_id.is_none()
                && change.seat_count == Some(7)
                && change.cancel_at_period_end == Some(true)
        })
        .times(1)
        .returning(|_, _| {
            Ok(GatewaySubscription {
                status: SubscriptionStatus::Active,
                ..stripe_answer()
            })
        });
    gateway
        .expect_cancel_subscription()
        .withf(|id| id == "sub_1")
        .times(1)
        .returning(|_| {
            Ok(GatewaySubscription {
                status: SubscriptionStatus::Canceled,
                ..stripe_answer()
            })
        });
    let service = service(&f, Arc::new(gateway)).await;
    let owner = caller(tenant, Role::Owner);
    service
        .start_subscription(&owner, pro(None))
        .await
        .expect("subscribed");
    let patch = SubscriptionPatch {
        seat_count: Some(7),
        auto_renew: Some(false),
        ..Default::default()
    };
    let s = service
        .update_subscription(&owner, patch)
        .await
        .expect("updated");
    assert_eq!(
        (s.status, s.seat_count, s.auto_renew),
        (SubscriptionStatus::Active, Some(7), false)
    );
    let s = service
        .cancel_subscription(&owner, false)
        .await
        .expect("canceled");
    assert_eq!(s.status, SubscriptionStatus::Canceled);
    let again = service
        .start_subscription(&owner, pro(None))
        .await
        .expect("subscribed again");
    assert_eq!(again.processor_customer_id.as_deref(), Some("cus_1"));
    assert_eq!(again.trial_ends_at, None);
}

async fn a_usage_key_counts_once_even_under_20_concurrent_retries_and_limits_are_shown(f: Fixture) {
    let (_, tenant) = register(&f, "acme").await;
    let service = service(&f, Arc::new(LocalGateway::new(Arc::new(SystemClock)))).await;
    let service = Arc::new(service);
    let admin = caller(tenant, Role::Admin);
    let report = |key: &str, quantity| UsageInput {
        feature_key: "messages".into(),
        quantity,
        idempotency_key: Some(key.into()),
        ..Default::default()
    };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (service, admin, report) = (service.clone(), admin.clone(), report("retry-1", 5));
            tokio::spawn(async move { service.record_usage(&admin, report).await })
        })
        .collect();
    let mut recorded = 0;
    for t in tasks {
        if t.await.expect("joined").expect("accepted") == UsageRecorded::Recorded {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1);
    service
        .record_usage(&admin, report("other", 2))
        .await
        .expect("counted");
    let bad = UsageInput {
        feature_key: "messages".into(),
        quantity: 0,
        ..Default::default()
    };
    assert!(matches!(
        service.record_usage(&admin, bad).await,
        Err(BillingServiceError::Invalid(_))
    ));
    for quantity in [1_000_001, i64::MAX, -5] {
        let huge = UsageInput {
            feature_key: "messages".into(),
            quantity,
            ..Default::default()
        };
        let refused = service.record_usage(&admin, huge).await;
        assert!(
            matches!(&refused, Err(BillingServiceError::Invalid(fields)) if fields[0].field == "quantity"),
            "{refused:?}"
        );
    }
    let largest = UsageInput {
        feature_key: "api_calls".into(),
        quantity: 1_000_000,
        ..Default::default()
    };
    service
        .record_usage(&admin, largest)
        .await
        .expect("a million is allowed");

    let usage = service.usage(&admin, None, None).await.expect("usage");
    assert_eq!(
        usage.plan_code.as_deref(),
        Some("starter"),
        "DEFAULT_PLAN without a subscription"
    );
    let messages = usage
        .features
        .iter()
        .find(|f| f.feature_key == "messages")
        .expect("messages");
    assert_eq!(messages.quantity, 7);
    assert_eq!(messages.hard_limit, None);
}

contract_tests!(
    starting_a_subscription_sends_the_plan_price_seats_and_trial_and_stores_the_answer,
    a_gateway_failure_leaves_no_subscription_behind,
    viewers_read_but_never_mutate_and_the_gateway_is_not_asked,
    local_subscriptions_conflict_change_cancel_and_resubscribe,
    a_processor_managed_plan_change_sends_the_new_price_and_cancel_now_deletes,
    a_usage_key_counts_once_even_under_20_concurrent_retries_and_limits_are_shown,
);
