//! The tenant's billing row: its quota window, its processor customer and
//! whether its trial is used.

use agents_domain::TenantId;
use agents_domain::billing::{
    BillingAccount, BillingError, Period, ProcessorCustomer, QuotaWindow, next_window,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use time::OffsetDateTime;

use super::subscriptions::write_err;
use crate::sql::support::{begin_write, commit, exec, for_update, get, one, stmt, ts, uuid};

/// What is stored for the tenant (the default when nothing is).
pub(super) async fn account(
    db: &DatabaseConnection,
    tenant: TenantId,
) -> Result<BillingAccount, BillingError> {
    let row = one(
        db,
        stmt(
            db.get_database_backend(),
            "SELECT processor, processor_customer_id, trial_used_at FROM tenant_billing WHERE tenant_id = $1",
            vec![uuid(tenant.as_uuid())],
        ),
    )
    .await?;
    let Some(row) = row else {
        return Ok(BillingAccount::default());
    };
    let processor: Option<String> = get(&row, "processor")?;
    let customer_id: Option<String> = get(&row, "processor_customer_id")?;
    let trial_used_at: Option<OffsetDateTime> = get(&row, "trial_used_at")?;
    Ok(BillingAccount {
        customer: processor
            .zip(customer_id)
            .map(|(processor, customer_id)| ProcessorCustomer {
                processor,
                customer_id,
            }),
        trial_used: trial_used_at.is_some(),
    })
}

/// Stores the customer unless one of the same processor is stored; the
/// upsert's condition decides races, then the stored one is read back.
pub(super) async fn save_customer(
    db: &DatabaseConnection,
    tenant: TenantId,
    customer: ProcessorCustomer,
) -> Result<ProcessorCustomer, BillingError> {
    let b = db.get_database_backend();
    db.execute_raw(stmt(
        b,
        "INSERT INTO tenant_billing (tenant_id, processor, processor_customer_id) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE
         SET processor = excluded.processor, processor_customer_id = excluded.processor_customer_id
         WHERE tenant_billing.processor_customer_id IS NULL OR tenant_billing.processor IS NULL
             OR tenant_billing.processor <> excluded.processor",
        vec![
            uuid(tenant.as_uuid()),
            Value::from(customer.processor.as_str()),
            Value::from(customer.customer_id.as_str()),
        ],
    ))
    .await
    .map_err(write_err)?;
    account(db, tenant).await?.customer.ok_or_else(|| {
        BillingError::Store(agents_domain::StoreError::Other(
            "the customer vanished after it was stored".into(),
        ))
    })
}

async fn stored_window<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    lock: bool,
) -> Result<Option<QuotaWindow>, BillingError> {
    let b = db.get_database_backend();
    let sql = format!(
        "SELECT window_anchor, window_start, window_end FROM tenant_billing WHERE tenant_id = $1{}",
        if lock { for_update(b) } else { "" }
    );
    let Some(row) = one(db, stmt(b, &sql, vec![uuid(tenant.as_uuid())])).await? else {
        return Ok(None);
    };
    let anchor: Option<OffsetDateTime> = get(&row, "window_anchor")?;
    let start: Option<OffsetDateTime> = get(&row, "window_start")?;
    let end: Option<OffsetDateTime> = get(&row, "window_end")?;
    Ok(match (anchor, start, end) {
        (Some(anchor), Some(start), Some(end)) => Some(QuotaWindow {
            anchor,
            period: Period { start, end },
        }),
        _ => None,
    })
}

/// The window in force: one read when it is; otherwise, in a write
/// transaction holding the tenant's row, the rule of `next_window` applied
/// to what is stored then (a concurrent caller may have moved it).
pub(super) async fn quota_window(
    db: &DatabaseConnection,
    tenant: TenantId,
    now: OffsetDateTime,
    candidate: Period,
) -> Result<Period, BillingError> {
    if let Some(window) = stored_window(db, tenant, false).await?
        && window.period.contains(now)
    {
        return Ok(window.period);
    }
    let b = db.get_database_backend();
    let txn = begin_write(db).await?;
    txn.execute_raw(stmt(
        b,
        "INSERT INTO tenant_billing (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING",
        vec![uuid(tenant.as_uuid())],
    ))
    .await
    .map_err(write_err)?;
    let stored = stored_window(&txn, tenant, true).await?;
    let window = match (next_window(stored, now, candidate), stored) {
        (None, Some(stored)) => stored.period,
        (next, _) => {
            let next = next.unwrap_or(QuotaWindow {
                anchor: candidate.start,
                period: candidate,
            });
            exec(
                &txn,
                stmt(
                    b,
                    "UPDATE tenant_billing SET window_anchor = $2, window_start = $3, window_end = $4
                     WHERE tenant_id = $1",
                    vec![
                        uuid(tenant.as_uuid()),
                        ts(b, next.anchor),
                        ts(b, next.period.start),
                        ts(b, next.period.end),
                    ],
                ),
            )
            .await?;
            next.period
        }
    };
    commit(txn).await?;
    Ok(window)
}
