//! The `BillingStore` contract for what keeps billing from being gamed or
//! lost, on memory, SQLite and Postgres: quota windows owned by the
//! tenant (monthly from its anchor), one trial and one customer per tenant, subscription writes
//! conditional on their version (also under concurrency), and totals and
//! counters that saturate instead of overflowing.

mod contract;

use agents_domain::billing::{
    BillingError, Period, ProcessorCustomer, QuotaDecision, Subscription, SubscriptionStatus,
    UsageReport,
};
use agents_domain::{SubscriptionId, TenantId};
use contract::{Fixture, register};
use time::OffsetDateTime;
use time::macros::datetime;

fn period(start: OffsetDateTime, end: OffsetDateTime) -> Period {
    Period { start, end }
}

const DECEMBER: Period = Period {
    start: datetime!(2026-12-01 00:00 UTC),
    end: datetime!(2027-01-01 00:00 UTC),
};

async fn subscription(f: &Fixture, tenant: TenantId, trial: bool) -> Subscription {
    let plan = f.billing.plan("pro").await.expect("plan").expect("seeded");
    let at = datetime!(2026-12-10 00:00 UTC);
    Subscription {
        id: SubscriptionId::new(),
        tenant_id: tenant,
        plan_id: plan.id,
        plan_code: plan.code,
        status: SubscriptionStatus::Active,
        auto_renew: true,
        billing_email: None,
        processor: Some("local".into()),
        processor_customer_id: None,
        processor_subscription_id: None,
        starts_at: at,
        current_period_start: Some(at),
        current_period_end: Some(at + time::Duration::days(31)),
        trial_ends_at: trial.then(|| at + time::Duration::days(14)),
        cancel_at: None,
        seat_count: Some(1),
        metadata: serde_json::json!({}),
        created_at: at,
        updated_at: at,
        version: 0,
        last_event_at: None,
    }
}

async fn quota_windows_step_monthly_from_the_tenants_anchor(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let (_, other) = register(&f, "bob").await;
    let window = |now, candidate| f.billing.quota_window(tenant, now, candidate);
    let first = window(datetime!(2026-12-05 00:00 UTC), DECEMBER).await;
    assert_eq!(first.expect("window"), DECEMBER);
    // Subscribing (or cancelling and subscribing again) on the 10th does
    // not move the window in force...
    let subscribed = period(
        datetime!(2026-12-10 00:00 UTC),
        datetime!(2027-01-10 00:00 UTC),
    );
    let kept = window(datetime!(2026-12-20 00:00 UTC), subscribed).await;
    assert_eq!(kept.expect("window"), DECEMBER);
    // ...nor the next one: the chain goes on from December's anchor.
    let january = period(DECEMBER.end, datetime!(2027-02-01 00:00 UTC));
    let next = window(datetime!(2027-01-02 00:00 UTC), subscribed).await;
    assert_eq!(next.expect("window"), january);
    let renewed = period(subscribed.end, datetime!(2027-02-10 00:00 UTC));
    let kept = window(datetime!(2027-01-15 00:00 UTC), renewed).await;
    assert_eq!(kept.expect("window"), january);
    // After a month without usage, a period begun after the last window
    // ended anchors the next one.
    let april = period(
        datetime!(2027-04-10 00:00 UTC),
        datetime!(2027-05-10 00:00 UTC),
    );
    let later = window(datetime!(2027-04-20 00:00 UTC), april).await;
    assert_eq!(later.expect("window"), april);
    let may = window(datetime!(2027-05-12 00:00 UTC), DECEMBER).await;
    assert_eq!(
        may.expect("window"),
        period(april.end, datetime!(2027-06-10 00:00 UTC)),
        "months step from the new anchor"
    );
    // Another tenant's windows are its own.
    let theirs = f
        .billing
        .quota_window(other, datetime!(2027-01-10 00:00 UTC), renewed)
        .await;
    assert_eq!(theirs.expect("window"), renewed);

    // Twenty requests at a rollover agree on one window.
    let (_, carol) = register(&f, "carol").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let billing = f.billing.clone();
            // Half of them see the calendar month, half a subscription period.
            let candidate = if i % 2 == 0 { DECEMBER } else { subscribed };
            tokio::spawn(async move {
                billing
                    .quota_window(carol, datetime!(2026-12-20 00:00 UTC), candidate)
                    .await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("join").expect("window"));
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "{seen:?}");
}

async fn a_trial_and_a_customer_are_remembered_per_tenant(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let (_, other) = register(&f, "bob").await;
    let account = f.billing.billing_account(tenant).await.expect("account");
    assert_eq!(account, Default::default());
    f.billing
        .create_subscription(subscription(&f, tenant, false).await)
        .await
        .expect("without trial");
    assert!(
        !f.billing
            .billing_account(tenant)
            .await
            .expect("a")
            .trial_used
    );
    let trialing = f
        .billing
        .update_subscription(Subscription {
            status: SubscriptionStatus::Canceled,
            ..f.billing
                .live_subscription(tenant)
                .await
                .expect("l")
                .expect("live")
        })
        .await;
    trialing.expect("canceled");
    f.billing
        .create_subscription(subscription(&f, tenant, true).await)
        .await
        .expect("with trial");
    assert!(
        f.billing
            .billing_account(tenant)
            .await
            .expect("a")
            .trial_used
    );
    assert!(
        !f.billing
            .billing_account(other)
            .await
            .expect("a")
            .trial_used
    );

    let customer = |id: &str, processor: &str| ProcessorCustomer {
        processor: processor.into(),
        customer_id: id.into(),
    };
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let billing = f.billing.clone();
            tokio::spawn(async move {
                billing
                    .save_customer(tenant, customer(&format!("cus_{i}"), "stripe"))
                    .await
            })
        })
        .collect();
    let mut stored = Vec::new();
    for task in tasks {
        stored.push(task.await.expect("join").expect("saved"));
    }
    stored.dedup();
    assert_eq!(stored.len(), 1, "the first stored wins: {stored:?}");
    let account = f.billing.billing_account(tenant).await.expect("account");
    assert_eq!(account.customer.as_ref(), stored.first());
    assert!(account.trial_used, "saving a customer keeps the trial mark");
    // A customer at another processor replaces it; the other tenant has none.
    let moved = f
        .billing
        .save_customer(tenant, customer("acct_9", "other"))
        .await;
    assert_eq!(moved.expect("saved"), customer("acct_9", "other"));
    assert_eq!(
        f.billing.billing_account(other).await.expect("a").customer,
        None
    );
}

async fn subscription_writes_are_conditional_on_the_version_read(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let created = f
        .billing
        .create_subscription(subscription(&f, tenant, false).await)
        .await
        .expect("create");
    assert_eq!(created.version, 0);
    let first = f
        .billing
        .update_subscription(Subscription {
            seat_count: Some(2),
            ..created.clone()
        })
        .await
        .expect("first write");
    assert_eq!((first.version, first.seat_count), (1, Some(2)));
    let stale = f
        .billing
        .update_subscription(Subscription {
            billing_email: Some("stale@example.com".into()),
            ..created.clone()
        })
        .await;
    assert!(
        matches!(stale, Err(BillingError::VersionConflict)),
        "{stale:?}"
    );
    let stored = f
        .billing
        .subscription(tenant, created.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((stored.version, stored.billing_email.as_deref()), (1, None));

    // Twenty writers read at the same version: exactly one wins.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let billing = f.billing.clone();
            let write = Subscription {
                seat_count: Some(10 + i),
                ..stored.clone()
            };
            tokio::spawn(async move { billing.update_subscription(write).await })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        match task.await.expect("join") {
            Ok(saved) => won.push(saved),
            Err(BillingError::VersionConflict) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won.len(), 1);
    let stored = f
        .billing
        .subscription(tenant, created.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!((stored.version, stored.seat_count), (2, won[0].seat_count));
    // Another tenant cannot address it.
    let (_, other) = register(&f, "bob").await;
    assert!(
        f.billing
            .subscription(other, created.id)
            .await
            .expect("read")
            .is_none()
    );
    let foreign = f
        .billing
        .update_subscription(Subscription {
            tenant_id: other,
            ..stored
        })
        .await;
    assert!(
        matches!(foreign, Err(BillingError::NotFound)),
        "{foreign:?}"
    );
}

async fn huge_totals_and_counters_saturate_instead_of_failing(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let half = i64::MAX / 2 + 1;
    for key in ["a", "b", "c"] {
        f.billing
            .record_usage(UsageReport {
                tenant_id: tenant,
                feature_key: "tokens".into(),
                quantity: half,
                idempotency_key: Some(key.into()),
                period: DECEMBER,
                reported_at: DECEMBER.start,
            })
            .await
            .expect("recorded");
    }
    let totals = f
        .billing
        .usage_totals(tenant, DECEMBER)
        .await
        .expect("no overflow error");
    assert_eq!(totals[0].quantity, i64::MAX);

    assert_eq!(
        f.billing
            .quota_used(tenant, "tokens", DECEMBER)
            .await
            .expect("used"),
        0
    );
    let consume = |quantity, limit| {
        f.billing
            .consume_quota(tenant, "tokens", DECEMBER, quantity, limit)
    };
    let big = consume(i64::MAX - 5, None).await.expect("consume");
    assert_eq!(big, QuotaDecision::Granted { used: i64::MAX - 5 });
    let saturated = consume(100, None).await.expect("consume");
    assert_eq!(saturated, QuotaDecision::Granted { used: i64::MAX });
    let refused = consume(1, Some(i64::MAX)).await.expect("no overflow");
    assert_eq!(refused, QuotaDecision::Exceeded { limit: i64::MAX });
    assert_eq!(
        f.billing
            .quota_used(tenant, "tokens", DECEMBER)
            .await
            .expect("used"),
        i64::MAX
    );
    // A quantity above the limit is refused before any counter exists.
    let over = f
        .billing
        .consume_quota(tenant, "messages", DECEMBER, 3, Some(2))
        .await
        .expect("consume");
    assert_eq!(over, QuotaDecision::Exceeded { limit: 2 });
    assert_eq!(
        f.billing
            .quota_used(tenant, "messages", DECEMBER)
            .await
            .expect("used"),
        0
    );
}

contract_tests!(
    quota_windows_step_monthly_from_the_tenants_anchor,
    a_trial_and_a_customer_are_remembered_per_tenant,
    subscription_writes_are_conditional_on_the_version_read,
    huge_totals_and_counters_saturate_instead_of_failing,
);
