//! Usage events (idempotent per tenant and key), their totals (saturating,
//! never overflowing), and quota counters checked and bumped by one
//! conditional upsert.

use agents_domain::TenantId;
use agents_domain::billing::{
    BillingError, Period, QuotaDecision, UsageRecorded, UsageReport, UsageTotal,
};
use sea_orm::{DatabaseConnection, DbBackend, Value};

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

/// `SUM(quantity)` clamped to `i64::MAX`: Postgres sums `bigint` into an
/// exact `numeric`; SQLite's `SUM` fails on overflow, so its `TOTAL`
/// (exact below 2^53) is cast, which saturates.
fn saturating_sum(b: DbBackend) -> &'static str {
    match b {
        DbBackend::Postgres => "CAST(LEAST(SUM(quantity), 9223372036854775807) AS BIGINT)",
        _ => "CAST(TOTAL(quantity) AS INTEGER)",
    }
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
            &format!(
                "SELECT feature_key, {} AS quantity FROM usage_events
                 WHERE tenant_id = $1 AND period_start >= $2 AND period_start < $3
                 GROUP BY feature_key ORDER BY feature_key",
                saturating_sum(b)
            ),
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

/// Adds `quantity` to the counter in one upsert whose update only happens
/// while the result stays within the limit, so concurrent consumers
/// serialise on the row and can never pass the limit together. Written
/// `used <= limit - quantity` so that no sum can overflow; the counter
/// itself saturates.
pub(super) async fn consume(
    db: &DatabaseConnection,
    tenant: TenantId,
    feature_key: &str,
    period: Period,
    quantity: i64,
    hard_limit: Option<i64>,
) -> Result<QuotaDecision, BillingError> {
    if let Some(limit) = hard_limit
        && quantity > limit
    {
        return Ok(QuotaDecision::Exceeded { limit });
    }
    let b = db.get_database_backend();
    let mut values = counter_key(tenant, feature_key, b, period);
    values.push(ts(b, period.end));
    values.push(Value::from(quantity));
    let guard = match hard_limit {
        Some(limit) => {
            values.push(Value::from(limit));
            " WHERE usage_counters.used <= $6 - excluded.used"
        }
        None => "",
    };
    let sql = format!(
        "INSERT INTO usage_counters (tenant_id, feature_key, period_start, period_end, used)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, feature_key, period_start) DO UPDATE
         SET used = CASE WHEN usage_counters.used > 9223372036854775807 - excluded.used
                         THEN 9223372036854775807 ELSE usage_counters.used + excluded.used END{guard}
         RETURNING used"
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

/// The counter's value, 0 when it does not exist yet.
pub(super) async fn used(
    db: &DatabaseConnection,
    tenant: TenantId,
    feature_key: &str,
    period: Period,
) -> Result<i64, BillingError> {
    let b = db.get_database_backend();
    let row = one(
        db,
        stmt(
            b,
            "SELECT used FROM usage_counters
             WHERE tenant_id = $1 AND feature_key = $2 AND period_start = $3",
            counter_key(tenant, feature_key, b, period),
        ),
    )
    .await?;
    Ok(row.map(|r| get(&r, "used")).transpose()?.unwrap_or(0))
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
