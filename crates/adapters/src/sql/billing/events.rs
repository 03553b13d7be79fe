//! Processor events: the event id is recorded and its effect applied in
//! one transaction, so a failure in between leaves the event unprocessed
//! and the processor's retry applies it.

use agents_domain::billing::{BillingError, EventEffect, EventRecorded, Invoice};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use uuid::Uuid;

use super::subscriptions::{self, write_err};
use crate::sql::support::{begin_write, commit, exec, opt_str, stmt, ts, uuid};

/// Records the event id, then applies the subscription change (conditional
/// on its version) and the invoice; any failure rolls all of it back.
pub(super) async fn apply(
    db: &DatabaseConnection,
    effect: EventEffect,
) -> Result<EventRecorded, BillingError> {
    let b = db.get_database_backend();
    let txn = begin_write(db).await?;
    // A concurrent delivery of the same id waits here for this one's
    // outcome: it sees the row once this commits, or inserts it after a
    // rollback.
    let recorded = exec(
        &txn,
        stmt(
            b,
            "INSERT INTO stripe_events (event_id, processed_at) VALUES ($1, $2)
             ON CONFLICT (event_id) DO NOTHING",
            vec![
                Value::from(effect.event_id.as_str()),
                ts(b, effect.received_at),
            ],
        ),
    )
    .await?;
    if recorded == 0 {
        return Ok(EventRecorded::Duplicate);
    }
    if let Some(subscription) = effect.subscription {
        subscriptions::update(&txn, subscription).await?;
    }
    if let Some(invoice) = effect.invoice {
        upsert_invoice(&txn, invoice, effect.received_at).await?;
    }
    commit(txn).await?;
    Ok(EventRecorded::Applied)
}

/// Inserts or updates an invoice by its processor id; an unknown
/// subscription is `NotFound`.
async fn upsert_invoice<C: ConnectionTrait>(
    db: &C,
    invoice: Invoice,
    at: time::OffsetDateTime,
) -> Result<(), BillingError> {
    let b = db.get_database_backend();
    let values = vec![
        uuid(Uuid::new_v4()),
        uuid(invoice.subscription_id.as_uuid()),
        ts(b, invoice.period.start),
        ts(b, invoice.period.end),
        Value::from(invoice.amount_cents),
        Value::from(invoice.currency.as_str()),
        Value::from(invoice.status.as_str()),
        Value::from(invoice.external_invoice_id.as_str()),
        opt_str(invoice.hosted_invoice_url.as_deref()),
        ts(b, at),
    ];
    db.execute_raw(stmt(
        b,
        "INSERT INTO subscription_invoices (id, subscription_id, period_start, period_end, amount_cents,
             currency, status, external_invoice_id, hosted_invoice_url, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (external_invoice_id) DO UPDATE SET status = excluded.status,
             amount_cents = excluded.amount_cents, currency = excluded.currency,
             period_start = excluded.period_start, period_end = excluded.period_end,
             hosted_invoice_url = excluded.hosted_invoice_url",
        values,
    ))
    .await
    .map_err(write_err)?;
    Ok(())
}
