//! The `BillingStore` contract, run against the in-memory store, SQLite and Postgres.

mod contract;

use agents_domain::billing::{
    BillingError, Period, PlanFeature, QuotaDecision, Subscription, SubscriptionStatus,
    UsageRecorded, UsageReport,
};
use contract::billing::subscription;
use contract::{Fixture, at, register};

fn period() -> Period {
    Period {
        start: at(0),
        end: at(30 * 86_400),
    }
}

async fn seeded_plans_are_starter_and_pro(f: Fixture) {
    let plans = f.billing.plans().await.expect("plans");
    assert_eq!(
        plans.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
        vec!["pro", "starter"]
    );
    let starter = f
        .billing
        .plan("starter")
        .await
        .expect("plan")
        .expect("seeded");
    assert_eq!(
        (
            starter.price_cents,
            starter.trial_days,
            starter.seat_included
        ),
        (0, Some(14), Some(1))
    );
    assert!(!starter.toggle("enable_web_search", true));
    let pro = &plans[0];
    assert_eq!(
        (pro.price_cents, pro.seat_included, pro.currency.as_str()),
        (9900, Some(5), "USD")
    );
    assert!(pro.toggle("enable_web_search", false));
    let keys: Vec<_> = pro
        .features
        .iter()
        .map(|f| (f.key.as_str(), f.hard_limit))
        .collect();
    assert_eq!(keys, vec![("messages", None), ("tokens", None)]);
    assert!(f.billing.plan("enterprise").await.expect("plan").is_none());
}

async fn upsert_plan_matches_by_code(f: Fixture) {
    let mut starter = f
        .billing
        .plan("starter")
        .await
        .expect("plan")
        .expect("seeded");
    let id = starter.id;
    starter.id = agents_domain::PlanId::new();
    starter.stripe_price_id = Some("price_123".into());
    starter.features = vec![PlanFeature {
        key: "messages".into(),
        display_name: Some("Messages".into()),
        description: None,
        hard_limit: Some(100),
        soft_limit: Some(80),
        is_metered: true,
    }];
    let stored = f.billing.upsert_plan(starter).await.expect("upsert");
    assert_eq!(stored.id, id, "matched by code, id kept");
    assert_eq!(stored.stripe_price_id.as_deref(), Some("price_123"));
    let messages = stored.feature("messages").expect("feature");
    assert_eq!(
        (
            messages.hard_limit,
            messages.soft_limit,
            messages.is_metered
        ),
        (Some(100), Some(80), true)
    );
    assert!(
        stored.feature("tokens").is_some(),
        "unlisted features are kept"
    );
    let mut team = stored.clone();
    team.id = agents_domain::PlanId::new();
    team.code = "team".into();
    let created = f.billing.upsert_plan(team.clone()).await.expect("insert");
    assert_eq!((created.id, created.code.as_str()), (team.id, "team"));
    assert_eq!(f.billing.plans().await.expect("plans").len(), 3);
}

async fn one_live_subscription_per_tenant(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let (_, other) = register(&f, "bob").await;
    assert!(
        f.billing
            .live_subscription(tenant)
            .await
            .expect("live")
            .is_none()
    );
    let first = subscription(&f, tenant, "starter", SubscriptionStatus::Trialing).await;
    let stored = f
        .billing
        .create_subscription(first.clone())
        .await
        .expect("create");
    assert_eq!(stored, first);
    let second = subscription(&f, tenant, "pro", SubscriptionStatus::Active).await;
    assert!(matches!(
        f.billing.create_subscription(second.clone()).await,
        Err(BillingError::AlreadySubscribed)
    ));
    f.billing
        .create_subscription(subscription(&f, other, "pro", SubscriptionStatus::Active).await)
        .await
        .expect("other");
    // Cancel, then subscribe again; two cancelled subscriptions may coexist.
    let canceled = Subscription {
        status: SubscriptionStatus::Canceled,
        updated_at: at(60),
        ..stored.clone()
    };
    assert_eq!(
        f.billing
            .update_subscription(canceled)
            .await
            .expect("cancel")
            .status,
        SubscriptionStatus::Canceled
    );
    let again = f
        .billing
        .create_subscription(second.clone())
        .await
        .expect("resubscribe");
    assert_eq!(
        f.billing
            .live_subscription(tenant)
            .await
            .expect("live")
            .map(|s| s.id),
        Some(again.id)
    );
    let again_canceled = Subscription {
        status: SubscriptionStatus::Canceled,
        ..again.clone()
    };
    f.billing
        .update_subscription(again_canceled)
        .await
        .expect("cancel again");
    assert!(
        f.billing
            .live_subscription(tenant)
            .await
            .expect("live")
            .is_none()
    );
    let by_processor = f.billing.subscription_by_processor_id(
        second
            .processor_subscription_id
            .as_deref()
            .unwrap_or_default(),
    );
    assert_eq!(
        by_processor.await.expect("lookup").map(|s| s.plan_code),
        Some("pro".into())
    );
    let unknown = subscription(&f, tenant, "pro", SubscriptionStatus::Active).await;
    assert!(matches!(
        f.billing.update_subscription(unknown).await,
        Err(BillingError::NotFound)
    ));
}

async fn quota_hard_limit_holds_under_ten_concurrent_consumers(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let billing = f.billing.clone();
            tokio::spawn(async move {
                billing
                    .consume_quota(tenant, "messages", period(), 1, Some(5))
                    .await
            })
        })
        .collect();
    let mut granted = Vec::new();
    for task in tasks {
        match task.await.expect("join").expect("consume") {
            QuotaDecision::Granted { used } => granted.push(used),
            QuotaDecision::Exceeded { limit } => assert_eq!(limit, 5),
        }
    }
    granted.sort_unstable();
    assert_eq!(granted, vec![1, 2, 3, 4, 5]);
    f.billing
        .release_quota(tenant, "messages", period(), 2)
        .await
        .expect("release");
    let next = f
        .billing
        .consume_quota(tenant, "messages", period(), 2, Some(5))
        .await
        .expect("consume");
    assert_eq!(next, QuotaDecision::Granted { used: 5 });
    let unlimited = f
        .billing
        .consume_quota(tenant, "tokens", period(), 1_000_000, None)
        .await
        .expect("consume");
    assert_eq!(unlimited, QuotaDecision::Granted { used: 1_000_000 });
    let later = Period {
        start: period().end,
        end: at(60 * 86_400),
    };
    assert_eq!(
        f.billing
            .consume_quota(tenant, "messages", later, 1, Some(5))
            .await
            .expect("c"),
        QuotaDecision::Granted { used: 1 }
    );
}

async fn usage_is_idempotent_under_twenty_concurrent_retries(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let (_, other) = register(&f, "bob").await;
    let report = |tenant, key: Option<&str>, quantity| UsageReport {
        tenant_id: tenant,
        feature_key: "messages".into(),
        quantity,
        idempotency_key: key.map(str::to_owned),
        period: period(),
        reported_at: at(5),
    };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let billing = f.billing.clone();
            let r = report(tenant, Some("evt-1"), 3);
            tokio::spawn(async move { billing.record_usage(r).await })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        if task.await.expect("join").expect("record") == UsageRecorded::Recorded {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1);
    assert_eq!(
        f.billing
            .record_usage(report(other, Some("evt-1"), 7))
            .await
            .expect("r"),
        UsageRecorded::Recorded
    );
    f.billing
        .record_usage(report(tenant, None, 1))
        .await
        .expect("record");
    f.billing
        .record_usage(report(tenant, None, 1))
        .await
        .expect("record");
    let totals = f
        .billing
        .usage_totals(tenant, period())
        .await
        .expect("totals");
    assert_eq!(
        totals
            .iter()
            .map(|t| (t.feature_key.as_str(), t.quantity))
            .collect::<Vec<_>>(),
        vec![("messages", 5)]
    );
    let elsewhere = Period {
        start: period().end,
        end: at(60 * 86_400),
    };
    assert!(
        f.billing
            .usage_totals(tenant, elsewhere)
            .await
            .expect("totals")
            .is_empty()
    );
}

contract_tests!(
    seeded_plans_are_starter_and_pro,
    upsert_plan_matches_by_code,
    one_live_subscription_per_tenant,
    quota_hard_limit_holds_under_ten_concurrent_consumers,
    usage_is_idempotent_under_twenty_concurrent_retries,
);
