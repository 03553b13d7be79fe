//! Usage events (idempotent per tenant and key), quota counters bumped by
//! one conditional `UPDATE`, and invoices upserted by processor id.

use agents_domain::TenantId;
use agents_domain::billing::{
    BillingError, Invoice, Period, QuotaDecision, UsageRecorded, UsageReport, UsageTotal,
};
use sea_orm::{DatabaseConnection, Value};
use uuid::Uuid;

use crate::sql::support::{all, exec, get, one, opt_str, stmt, ts, uuid};

/// Inserts the event unless its key was seen for the tenant: the unique
/// index decides, so concurrent retries count once.
pub(super) async fn record(
    db: &DatabaseConnection,
    report: UsageReport,
) -> Result<UsageRecorded, BillingError> {
    let b = db.get_database_backend();
    let inserted = exec(
        db,
        stmt(
            b,
            "INSERT INTO usage_events (tenant_id, feature_key, quantity, idempotency_key, period_start,
                 period_end, reported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            vec![
                uuid(report.tenant_id.as_uuid()),
                Value::from(report.feature_key.as_str()),
                Value::from(report.quantity),
                opt_str(report.idempotency_key.as_deref()),
                ts(b, report.period.start),
                ts(b, report.period.end),
                ts(b, report.reported_at),
            ],
        ),
    )
    .await?;
    Ok(if inserted == 1 {
        UsageRecorded::Recorded
    } else {
        UsageRecorded::Duplicate
    })
}

/// Sums per feature of the events whose period starts within `period`.
pub(super) async fn totals(
    db: &DatabaseConnection,
    tenant: TenantId,
    period: Period,
) -> Result<Vec<UsageTotal>, BillingError> {
    let b = db.get_database_backend();
    let rows = all(
        db,
        stmt(
            b,
            "SELECT feature_key, CAST(SUM(quantity) AS BIGINT) AS quantity FROM usage_events
             WHERE tenant_id = $1 AND period_start >= $2 AND period_start < $3
             GROUP BY feature_key ORDER BY feature_key",
            vec![
                uuid(tenant.as_uuid()),
                ts(b, period.start),
                ts(b, period.end),
            ],
        ),
    )
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            Ok(UsageTotal {
                feature_key: get(row, "feature_key")?,
                quantity: get(row, "quantity")?,
            })
        })
        .collect::<Result<Vec<_>, agents_domain::StoreError>>()?)
}

fn counter_key(
    tenant: TenantId,
    feature_key: &str,
    b: sea_orm::DbBackend,
    period: Period,
) -> Vec<Value> {
    vec![
        uuid(tenant.as_uuid()),
        Value::from(feature_key),
        ts(b, period.start),
    ]
}

/// Makes sure the counter row exists, then adds `quantity` only if the
/// result stays within the limit: one statement, so concurrent consumers
/// serialise on the row and can never pass the limit together.
pub(super) async fn consume(
    db: &DatabaseConnection,
    tenant: TenantId,
    feature_key: &str,
    period: Period,
    quantity: i64,
    hard_limit: Option<i64>,
) -> Result<QuotaDecision, BillingError> {
    let b = db.get_database_backend();
    let mut values = counter_key(tenant, feature_key, b, period);
    values.push(ts(b, period.end));
    exec(
        db,
        stmt(
            b,
            "INSERT INTO usage_counters (tenant_id, feature_key, period_start, period_end, used)
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT (tenant_id, feature_key, period_start) DO NOTHING",
            values,
        ),
    )
    .await?;
    let mut values = counter_key(tenant, feature_key, b, period);
    values.push(Value::from(quantity));
    let guard = match hard_limit {
        Some(limit) => {
            values.push(Value::from(limit));
            " AND used + $4 <= $5"
        }
        None => "",
    };
    let sql = format!(
        "UPDATE usage_counters SET used = used + $4
         WHERE tenant_id = $1 AND feature_key = $2 AND period_start = $3{guard} RETURNING used"
    );
    match one(db, stmt(b, &sql, values)).await? {
        Some(row) => Ok(QuotaDecision::Granted {
            used: get(&row, "used")?,
        }),
        None => Ok(QuotaDecision::Exceeded {
            limit: hard_limit.unwrap_or(0),
        }),
    }
}

/// Gives back `quantity`, never below zero.
pub(super) async fn release(
    db: &DatabaseConnection,
    tenant: TenantId,
    feature_key: &str,
    period: Period,
    quantity: i64,
) -> Result<(), BillingError> {
    let b = db.get_database_backend();
    let mut values = counter_key(tenant, feature_key, b, period);
    values.push(Value::from(quantity));
    exec(
        db,
        stmt(
            b,
            "UPDATE usage_counters SET used = CASE WHEN used > $4 THEN used - $4 ELSE 0 END
             WHERE tenant_id = $1 AND feature_key = $2 AND period_start = $3",
            values,
        ),
    )
    .await?;
    Ok(())
}

/// Inserts or updates an invoice by its processor id.
pub(super) async fn upsert_invoice(
    db: &DatabaseConnection,
    invoice: Invoice,
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
        ts(b, time::OffsetDateTime::now_utc()),
    ];
    exec(
        db,
        stmt(
            b,
            "INSERT INTO subscription_invoices (id, subscription_id, period_start, period_end, amount_cents,
                 currency, status, external_invoice_id, hosted_invoice_url, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (external_invoice_id) DO UPDATE SET status = excluded.status,
                 amount_cents = excluded.amount_cents, currency = excluded.currency,
                 period_start = excluded.period_start, period_end = excluded.period_end,
                 hosted_invoice_url = excluded.hosted_invoice_url",
            values,
        ),
    )
    .await?;
    Ok(())
}
