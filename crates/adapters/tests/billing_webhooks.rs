//! Stripe webhooks through the billing use case on every store (memory,
//! SQLite, Postgres), signed with the real verifier: a store failure
//! between recording and applying an event leaves it for Stripe's retry,
//! events about a subscription apply in `created` order, and a webhook
//! racing an API change never overwrites it.

mod contract;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agents_adapters::payments::{LocalGateway, StripeWebhookVerifier};
use agents_application::billing::{
    BillingService, NewSubscription, SubscriptionPatch, WebhookFailure, WebhookOutcome,
};
use agents_domain::account::Role;
use agents_domain::billing::{
    BillingAccount, BillingError, BillingStore, EventEffect, EventRecorded, Period, Plan,
    ProcessorCustomer, QuotaDecision, Subscription, SubscriptionStatus, UsageRecorded, UsageReport,
    UsageTotal,
};
use agents_domain::clock::SystemClock;
use agents_domain::{SubscriptionId, TenantId};
use async_trait::async_trait;
use contract::billing::caller;
use contract::{Fixture, register};
use serde_json::json;
use time::OffsetDateTime;

const SECRET: &str = "whsec_contract";

/// The real store, with two faults to inject. Armed, the next
/// `apply_event` fails inside the real store's transaction, after the event
/// id was recorded there (its invoice names a subscription that does not
/// exist). With `slow_reads`, every read of a subscription pauses before
/// answering, so two concurrent read-modify-writes reliably interleave.
struct Faulty {
    inner: Arc<dyn BillingStore>,
    armed: AtomicBool,
    slow_reads: bool,
}

impl Faulty {
    fn new(inner: Arc<dyn BillingStore>, slow_reads: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            armed: AtomicBool::new(false),
            slow_reads,
        })
    }

    async fn pause(&self) {
        if self.slow_reads {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
    }
}

#[async_trait]
impl BillingStore for Faulty {
    async fn plans(&self) -> Result<Vec<Plan>, BillingError> {
        self.inner.plans().await
    }
    async fn plan(&self, code: &str) -> Result<Option<Plan>, BillingError> {
        self.inner.plan(code).await
    }
    async fn upsert_plan(&self, plan: Plan) -> Result<Plan, BillingError> {
        self.inner.upsert_plan(plan).await
    }
    async fn live_subscription(&self, t: TenantId) -> Result<Option<Subscription>, BillingError> {
        let read = self.inner.live_subscription(t).await;
        self.pause().await;
        read
    }
    async fn subscription(
        &self,
        t: TenantId,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>, BillingError> {
        let read = self.inner.subscription(t, id).await;
        self.pause().await;
        read
    }
    async fn create_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        self.inner.create_subscription(s).await
    }
    async fn update_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        self.inner.update_subscription(s).await
    }
    async fn subscription_by_processor_id(
        &self,
        id: &str,
    ) -> Result<Option<Subscription>, BillingError> {
        let read = self.inner.subscription_by_processor_id(id).await;
        self.pause().await;
        read
    }
    async fn billing_account(&self, t: TenantId) -> Result<BillingAccount, BillingError> {
        self.inner.billing_account(t).await
    }
    async fn save_customer(
        &self,
        t: TenantId,
        c: ProcessorCustomer,
    ) -> Result<ProcessorCustomer, BillingError> {
        self.inner.save_customer(t, c).await
    }
    async fn quota_window(
        &self,
        t: TenantId,
        now: OffsetDateTime,
        candidate: Period,
    ) -> Result<Period, BillingError> {
        self.inner.quota_window(t, now, candidate).await
    }
    async fn record_usage(&self, r: UsageReport) -> Result<UsageRecorded, BillingError> {
        self.inner.record_usage(r).await
    }
    async fn usage_totals(&self, t: TenantId, p: Period) -> Result<Vec<UsageTotal>, BillingError> {
        self.inner.usage_totals(t, p).await
    }
    async fn consume_quota(
        &self,
        t: TenantId,
        key: &str,
        p: Period,
        q: i64,
        limit: Option<i64>,
    ) -> Result<QuotaDecision, BillingError> {
        self.inner.consume_quota(t, key, p, q, limit).await
    }
    async fn quota_used(&self, t: TenantId, key: &str, p: Period) -> Result<i64, BillingError> {
        self.inner.quota_used(t, key, p).await
    }
    async fn release_quota(
        &self,
        t: TenantId,
        key: &str,
        p: Period,
        q: i64,
    ) -> Result<(), BillingError> {
        self.inner.release_quota(t, key, p, q).await
    }
    async fn apply_event(&self, mut effect: EventEffect) -> Result<EventRecorded, BillingError> {
        if self.armed.swap(false, Ordering::SeqCst)
            && let Some(invoice) = effect.invoice.as_mut()
        {
            invoice.subscription_id = SubscriptionId::new();
        }
        self.inner.apply_event(effect).await
    }
}

fn billing(store: Arc<dyn BillingStore>) -> BillingService {
    BillingService::new(
        store,
        Arc::new(LocalGateway::new(Arc::new(SystemClock))),
        Arc::new(SystemClock),
        Default::default(),
    )
    .with_webhooks(Arc::new(StripeWebhookVerifier::new(SECRET)))
}

/// Subscribes `tenant` to `pro` (locally) and links it to Stripe id `remote`.
async fn linked(f: &Fixture, service: &BillingService, tenant: TenantId, remote: &str) {
    let owner = caller(tenant, Role::Owner);
    let input = NewSubscription {
        plan_code: "pro".into(),
        ..Default::default()
    };
    let s = service
        .start_subscription(&owner, input)
        .await
        .expect("subscribed");
    f.billing
        .update_subscription(Subscription {
            processor_subscription_id: Some(remote.into()),
            ..s
        })
        .await
        .expect("linked");
}

fn subscription_event(id: &str, kind: &str, created: i64, status: &str, seats: i64) -> String {
    json!({"id": id, "type": kind, "created": created, "data": {"object": {
        "id": "sub_hook", "customer": "cus_1", "status": status, "cancel_at": null,
        "items": {"data": [{"id": "si_1", "quantity": seats}]}}}})
    .to_string()
}

async fn deliver(
    service: &BillingService,
    payload: &str,
) -> Result<WebhookOutcome, WebhookFailure> {
    let signature = StripeWebhookVerifier::new(SECRET)
        .signature_header(payload.as_bytes(), OffsetDateTime::now_utc());
    service
        .handle_webhook(payload.as_bytes(), Some(signature))
        .await
}

async fn stored(f: &Fixture, tenant: TenantId) -> Subscription {
    f.billing
        .subscription_by_processor_id("sub_hook")
        .await
        .expect("read")
        .filter(|s| s.tenant_id == tenant)
        .expect("linked subscription")
}

async fn a_failure_between_recording_and_applying_leaves_the_event_for_the_retry(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let faulty = Faulty::new(f.billing.clone(), false);
    let service = billing(faulty.clone());
    linked(&f, &service, tenant, "sub_hook").await;
    let failed = json!({"id": "evt_fail", "type": "invoice.payment_failed", "created": 100,
        "data": {"object": {"id": "in_1", "subscription": "sub_hook", "amount_due": 9900,
            "currency": "usd", "status": "open", "period_start": 1, "period_end": 2}}})
    .to_string();
    // An active subscription whose payment fails becomes past_due.
    let made_active = deliver(
        &service,
        &subscription_event(
            "evt_active",
            "customer.subscription.updated",
            50,
            "active",
            1,
        ),
    )
    .await;
    assert_eq!(made_active.expect("applied"), WebhookOutcome::Applied);
    faulty.armed.store(true, Ordering::SeqCst);
    let first = deliver(&service, &failed).await;
    assert!(matches!(first, Err(WebhookFailure::Store(_))), "{first:?}");
    assert_eq!(stored(&f, tenant).await.status, SubscriptionStatus::Active);
    let retry = deliver(&service, &failed).await;
    assert_eq!(
        retry.expect("retried"),
        WebhookOutcome::Applied,
        "not a duplicate: nothing of the failed delivery was kept"
    );
    assert_eq!(stored(&f, tenant).await.status, SubscriptionStatus::PastDue);
    let again = deliver(&service, &failed).await;
    assert_eq!(again.expect("replayed"), WebhookOutcome::Duplicate);
}

async fn events_apply_in_created_order_and_a_late_older_one_changes_nothing(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let service = billing(f.billing.clone());
    linked(&f, &service, tenant, "sub_hook").await;
    let deleted = subscription_event(
        "evt_t2",
        "customer.subscription.deleted",
        2_000,
        "canceled",
        1,
    );
    let late = subscription_event(
        "evt_t1",
        "customer.subscription.updated",
        1_000,
        "active",
        3,
    );
    assert_eq!(
        deliver(&service, &deleted).await.expect("t2"),
        WebhookOutcome::Applied
    );
    assert_eq!(
        deliver(&service, &late).await.expect("t1"),
        WebhookOutcome::Ignored
    );
    let s = stored(&f, tenant).await;
    assert_eq!(
        (s.status, s.seat_count),
        (SubscriptionStatus::Canceled, Some(1))
    );
    // Even a newer event does not revive an ended subscription.
    let revive = subscription_event(
        "evt_t3",
        "customer.subscription.updated",
        3_000,
        "active",
        3,
    );
    assert_eq!(
        deliver(&service, &revive).await.expect("t3"),
        WebhookOutcome::Ignored
    );
    assert_eq!(
        stored(&f, tenant).await.status,
        SubscriptionStatus::Canceled
    );
    // An ignored event is still recorded: its replay is a duplicate.
    assert_eq!(
        deliver(&service, &late).await.expect("t1"),
        WebhookOutcome::Duplicate
    );
}

async fn a_webhook_racing_a_patch_fifty_times_never_loses_either_change(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let service = Arc::new(billing(Faulty::new(f.billing.clone(), true)));
    linked(&f, &service, tenant, "sub_hook").await;
    let owner = caller(tenant, Role::Owner);
    for round in 1..=50_i64 {
        let hook = {
            let service = service.clone();
            let payload = subscription_event(
                &format!("evt_race_{round}"),
                "customer.subscription.updated",
                10_000 + round,
                "active",
                round,
            );
            tokio::spawn(async move { deliver(&service, &payload).await })
        };
        let patch = {
            let (service, owner) = (service.clone(), owner.clone());
            let change = SubscriptionPatch {
                billing_email: Some(format!("round{round}@example.com")),
                ..Default::default()
            };
            tokio::spawn(async move { service.update_subscription(&owner, change).await })
        };
        let hook = hook.await.expect("join");
        assert_eq!(
            hook.expect("webhook"),
            WebhookOutcome::Applied,
            "round {round}"
        );
        patch.await.expect("join").expect("patch");
        let s = stored(&f, tenant).await;
        assert_eq!(
            (s.seat_count, s.billing_email),
            (
                Some(round as i32),
                Some(format!("round{round}@example.com"))
            ),
            "round {round}: a write was lost"
        );
    }
}

contract_tests!(
    a_failure_between_recording_and_applying_leaves_the_event_for_the_retry,
    events_apply_in_created_order_and_a_late_older_one_changes_nothing,
    a_webhook_racing_a_patch_fifty_times_never_loses_either_change,
);
