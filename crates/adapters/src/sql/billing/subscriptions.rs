//! Subscription rows: reads joined with their plan's code, creation (with
//! the tenant's trial marked used in the same transaction) and updates
//! conditional on the version read.

use agents_domain::billing::{BillingError, Subscription, SubscriptionStatus};
use agents_domain::{PlanId, StoreError, SubscriptionId, TenantId};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Value};

use crate::sql::support::{
    begin_write, commit, exec, get, is_foreign_key_violation, one, opt_i32, opt_str, stmt,
    store_err, ts, ts_opt, unique_violation, uuid,
};

/// Maps a failed subscription write: the live-subscription index gives
/// `AlreadySubscribed`, a missing plan or tenant `NotFound`.
pub(super) fn write_err(err: DbErr) -> BillingError {
    if unique_violation(&err).is_some() {
        return BillingError::AlreadySubscribed;
    }
    if is_foreign_key_violation(&err) {
        return BillingError::NotFound;
    }
    BillingError::Store(store_err(err))
}

const SELECT: &str = "SELECT s.id, s.tenant_id, s.plan_id, p.code AS plan_code, s.status, s.auto_renew,
     s.billing_email, s.processor, s.processor_customer_id, s.processor_subscription_id, s.starts_at,
     s.current_period_start, s.current_period_end, s.trial_ends_at, s.cancel_at, s.seat_count,
     s.metadata_json, s.created_at, s.updated_at, s.version, s.last_event_at
     FROM tenant_subscriptions s JOIN billing_plans p ON p.id = s.plan_id";

fn read(row: &QueryResult) -> Result<Subscription, StoreError> {
    let status: String = get(row, "status")?;
    let metadata: Option<serde_json::Value> = get(row, "metadata_json")?;
    Ok(Subscription {
        id: SubscriptionId::from_uuid(get(row, "id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        plan_id: PlanId::from_uuid(get(row, "plan_id")?),
        plan_code: get(row, "plan_code")?,
        status: SubscriptionStatus::parse(&status).ok_or_else(|| {
            StoreError::other(format!("unknown stored subscription status {status:?}"))
        })?,
        auto_renew: get(row, "auto_renew")?,
        billing_email: get(row, "billing_email")?,
        processor: get(row, "processor")?,
        processor_customer_id: get(row, "processor_customer_id")?,
        processor_subscription_id: get(row, "processor_subscription_id")?,
        starts_at: get(row, "starts_at")?,
        current_period_start: get(row, "current_period_start")?,
        current_period_end: get(row, "current_period_end")?,
        trial_ends_at: get(row, "trial_ends_at")?,
        cancel_at: get(row, "cancel_at")?,
        seat_count: get(row, "seat_count")?,
        metadata: metadata.unwrap_or(serde_json::Value::Object(Default::default())),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
        last_event_at: get(row, "last_event_at")?,
    })
}

/// The values of a subscription row in the order `$1..$19` of the writes below.
fn values(b: DbBackend, s: &Subscription) -> Vec<Value> {
    vec![
        uuid(s.id.as_uuid()),
        uuid(s.tenant_id.as_uuid()),
        uuid(s.plan_id.as_uuid()),
        Value::from(s.status.as_str()),
        Value::from(s.auto_renew),
        opt_str(s.billing_email.as_deref()),
        opt_str(s.processor.as_deref()),
        opt_str(s.processor_customer_id.as_deref()),
        opt_str(s.processor_subscription_id.as_deref()),
        ts(b, s.starts_at),
        ts_opt(b, s.current_period_start),
        ts_opt(b, s.current_period_end),
        ts_opt(b, s.trial_ends_at),
        ts_opt(b, s.cancel_at),
        opt_i32(s.seat_count),
        Value::Json(Some(Box::new(s.metadata.clone()))),
        ts(b, s.created_at),
        ts(b, s.updated_at),
        ts_opt(b, s.last_event_at),
    ]
}

/// The newest subscription matching `clause` (over `s.`, binding `values`).
pub(super) async fn find<C: ConnectionTrait>(
    db: &C,
    clause: &str,
    values: Vec<Value>,
) -> Result<Option<Subscription>, BillingError> {
    let sql = format!("{SELECT} WHERE {clause} ORDER BY s.created_at DESC LIMIT 1");
    let row = one(db, stmt(db.get_database_backend(), &sql, values)).await?;
    Ok(row.as_ref().map(read).transpose()?)
}

async fn by_id<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: SubscriptionId,
) -> Result<Subscription, BillingError> {
    find(
        db,
        "s.tenant_id = $1 AND s.id = $2",
        vec![uuid(tenant.as_uuid()), uuid(id.as_uuid())],
    )
    .await?
    .ok_or(BillingError::NotFound)
}

/// Inserts the subscription at version 0; a trial marks the tenant's
/// trial used in the same transaction.
pub(super) async fn create(
    db: &DatabaseConnection,
    s: Subscription,
) -> Result<Subscription, BillingError> {
    let b = db.get_database_backend();
    let txn = begin_write(db).await?;
    let mut row = values(b, &s);
    row.push(Value::from(0_i64));
    txn.execute_raw(stmt(
        b,
        "INSERT INTO tenant_subscriptions (id, tenant_id, plan_id, status, auto_renew, billing_email,
             processor, processor_customer_id, processor_subscription_id, starts_at,
             current_period_start, current_period_end, trial_ends_at, cancel_at, seat_count,
             metadata_json, created_at, updated_at, last_event_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        row,
    ))
    .await
    .map_err(write_err)?;
    if s.trial_ends_at.is_some() {
        exec(
            &txn,
            stmt(
                b,
                "INSERT INTO tenant_billing (tenant_id, trial_used_at) VALUES ($1, $2)
                 ON CONFLICT (tenant_id) DO UPDATE
                 SET trial_used_at = COALESCE(tenant_billing.trial_used_at, excluded.trial_used_at)",
                vec![uuid(s.tenant_id.as_uuid()), ts(b, s.created_at)],
            ),
        )
        .await?;
    }
    let created = by_id(&txn, s.tenant_id, s.id).await?;
    commit(txn).await?;
    Ok(created)
}

/// Writes `s` if the stored version is still `s.version`, moving it to the
/// next one; `VersionConflict` or `NotFound` otherwise. Runs on `db` or
/// inside a caller's transaction.
pub(super) async fn update<C: ConnectionTrait>(
    db: &C,
    s: Subscription,
) -> Result<Subscription, BillingError> {
    let b = db.get_database_backend();
    let mut row = values(b, &s);
    row.push(Value::from(s.version));
    let changed = db
        .execute_raw(stmt(
            b,
            "UPDATE tenant_subscriptions SET plan_id = $3, status = $4, auto_renew = $5,
                 billing_email = $6, processor = $7, processor_customer_id = $8,
                 processor_subscription_id = $9, starts_at = $10, current_period_start = $11,
                 current_period_end = $12, trial_ends_at = $13, cancel_at = $14, seat_count = $15,
                 metadata_json = $16, created_at = $17, updated_at = $18, last_event_at = $19,
                 version = version + 1
             WHERE id = $1 AND tenant_id = $2 AND version = $20",
            row,
        ))
        .await
        .map_err(write_err)?
        .rows_affected();
    if changed == 0 {
        let exists = one(
            db,
            stmt(
                b,
                "SELECT 1 AS found FROM tenant_subscriptions WHERE id = $1 AND tenant_id = $2",
                vec![uuid(s.id.as_uuid()), uuid(s.tenant_id.as_uuid())],
            ),
        )
        .await?;
        return Err(match exists {
            Some(_) => BillingError::VersionConflict,
            None => BillingError::NotFound,
        });
    }
    by_id(db, s.tenant_id, s.id).await
}
