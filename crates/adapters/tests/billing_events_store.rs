//! The `BillingStore` contract for processor events, on memory, SQLite and
//! Postgres: an event id is recorded once, together with its effect, in one
//! transaction, so a failure inside it leaves the event for the retry.

mod contract;

use agents_domain::billing::{
    BillingError, EventEffect, EventRecorded, Invoice, Period, Subscription, SubscriptionStatus,
};
use contract::billing::subscription;
use contract::{Fixture, at, register};

fn period() -> Period {
    Period {
        start: at(0),
        end: at(30 * 86_400),
    }
}

fn effect(id: &str, subscription: Option<Subscription>, invoice: Option<Invoice>) -> EventEffect {
    EventEffect {
        event_id: id.into(),
        received_at: at(10),
        subscription,
        invoice,
    }
}

async fn webhook_events_are_recorded_once_together_with_their_effect(f: Fixture) {
    let (_, tenant) = register(&f, "alice").await;
    let s = f
        .billing
        .create_subscription(subscription(&f, tenant, "pro", SubscriptionStatus::Active).await)
        .await
        .expect("create");
    let invoice = Invoice {
        subscription_id: s.id,
        external_invoice_id: "in_1".into(),
        period: period(),
        amount_cents: 9900,
        currency: "USD".into(),
        status: "open".into(),
        hosted_invoice_url: None,
    };
    let past_due = Subscription {
        status: SubscriptionStatus::PastDue,
        last_event_at: Some(at(5)),
        ..s.clone()
    };
    let applied = f
        .billing
        .apply_event(effect(
            "evt_1",
            Some(past_due.clone()),
            Some(invoice.clone()),
        ))
        .await;
    assert_eq!(applied.expect("apply"), EventRecorded::Applied);
    let read = |f: Fixture| async move {
        f.billing
            .subscription(tenant, s.id)
            .await
            .expect("read")
            .expect("exists")
    };
    let stored = read(f.clone()).await;
    assert_eq!(
        (stored.status, stored.version, stored.last_event_at),
        (SubscriptionStatus::PastDue, 1, Some(at(5)))
    );

    // The same id again, whatever it carries, writes nothing.
    let active = Subscription {
        status: SubscriptionStatus::Active,
        ..stored.clone()
    };
    let again = f
        .billing
        .apply_event(effect("evt_1", Some(active.clone()), None))
        .await;
    assert_eq!(again.expect("apply"), EventRecorded::Duplicate);
    assert_eq!(read(f.clone()).await.status, SubscriptionStatus::PastDue);

    // A stale version records nothing: the retry on the fresh row applies.
    let stale = f
        .billing
        .apply_event(effect("evt_2", Some(past_due), None))
        .await;
    assert!(
        matches!(stale, Err(BillingError::VersionConflict)),
        "{stale:?}"
    );
    // A failure inside the transaction (an invoice of an unknown
    // subscription) leaves the event unrecorded and the row unchanged.
    let orphan = Invoice {
        subscription_id: agents_domain::SubscriptionId::new(),
        external_invoice_id: "in_2".into(),
        ..invoice.clone()
    };
    let failed = f
        .billing
        .apply_event(effect("evt_2", Some(active.clone()), Some(orphan)))
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(read(f.clone()).await.status, SubscriptionStatus::PastDue);
    let retried = f
        .billing
        .apply_event(effect("evt_2", Some(active), Some(invoice)))
        .await;
    assert_eq!(retried.expect("retry"), EventRecorded::Applied);
    let stored = read(f.clone()).await;
    assert_eq!(
        (stored.status, stored.version),
        (SubscriptionStatus::Active, 2)
    );
    // An event with no effect is recorded too.
    let bare = f.billing.apply_event(effect("evt_3", None, None)).await;
    assert_eq!(bare.expect("bare"), EventRecorded::Applied);
    let bare = f.billing.apply_event(effect("evt_3", None, None)).await;
    assert_eq!(bare.expect("bare"), EventRecorded::Duplicate);
}

contract_tests!(webhook_events_are_recorded_once_together_with_their_effect);
