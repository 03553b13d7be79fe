//! Plans and their features: read by code, upserted from configuration.

use agents_domain::billing::{BillingError, Plan, PlanFeature};
use agents_domain::{PlanId, StoreError};
use sea_orm::{DatabaseConnection, QueryResult, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::support::{all, begin_write, commit, exec, get, opt_i32, opt_str, stmt, ts, uuid};

fn feature(row: &QueryResult) -> Result<PlanFeature, StoreError> {
    Ok(PlanFeature {
        key: get(row, "feature_key")?,
        display_name: get(row, "display_name")?,
        description: get(row, "description")?,
        hard_limit: get::<Option<i32>>(row, "hard_limit")?.map(i64::from),
        soft_limit: get::<Option<i32>>(row, "soft_limit")?.map(i64::from),
        is_metered: get(row, "is_metered")?,
    })
}

fn plan(row: &QueryResult, features: Vec<PlanFeature>) -> Result<Plan, StoreError> {
    let toggles: Option<serde_json::Value> = get(row, "feature_toggles")?;
    Ok(Plan {
        id: PlanId::from_uuid(get(row, "id")?),
        code: get(row, "code")?,
        name: get(row, "name")?,
        interval: get(row, "interval")?,
        interval_count: get(row, "interval_count")?,
        price_cents: get(row, "price_cents")?,
        currency: get(row, "currency")?,
        trial_days: get(row, "trial_days")?,
        seat_included: get(row, "seat_included")?,
        feature_toggles: match toggles {
            Some(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
        is_active: get(row, "is_active")?,
        stripe_price_id: get(row, "stripe_price_id")?,
        features,
    })
}

/// Every plan (or the one with `code`), by code, with features by key.
pub(super) async fn load(
    db: &DatabaseConnection,
    code: Option<&str>,
) -> Result<Vec<Plan>, BillingError> {
    let b = db.get_database_backend();
    let (filter, values) = match code {
        Some(code) => ("WHERE p.code = $1", vec![Value::from(code)]),
        None => ("", vec![]),
    };
    let plan_sql = format!(
        "SELECT p.id, p.code, p.name, p.\"interval\", p.interval_count, p.price_cents, p.currency, p.trial_days,
             p.seat_included, p.feature_toggles, p.is_active, p.stripe_price_id
         FROM billing_plans p {filter} ORDER BY p.code"
    );
    let feature_sql = format!(
        "SELECT f.plan_id, f.feature_key, f.display_name, f.description, f.hard_limit, f.soft_limit, f.is_metered
         FROM plan_features f JOIN billing_plans p ON p.id = f.plan_id {filter} ORDER BY f.feature_key"
    );
    let plan_rows = all(db, stmt(b, &plan_sql, values.clone())).await?;
    let feature_rows = all(db, stmt(b, &feature_sql, values)).await?;
    let mut features: Vec<(Uuid, PlanFeature)> = Vec::with_capacity(feature_rows.len());
    for row in &feature_rows {
        features.push((get(row, "plan_id")?, feature(row)?));
    }
    let mut plans = Vec::with_capacity(plan_rows.len());
    for row in &plan_rows {
        let id: Uuid = get(row, "id")?;
        let own = features
            .iter()
            .filter(|(plan_id, _)| *plan_id == id)
            .map(|(_, f)| f.clone())
            .collect();
        plans.push(plan(row, own)?);
    }
    Ok(plans)
}

fn limit(value: Option<i64>, name: &str) -> Result<Value, StoreError> {
    value
        .map(i32::try_from)
        .transpose()
        .map(opt_i32)
        .map_err(|_| StoreError::other(format!("{name} does not fit the plan_features column")))
}

/// Inserts or updates the plan by code, and upserts its features by key
/// (features not listed are kept), in one transaction.
pub(super) async fn upsert(db: &DatabaseConnection, plan: Plan) -> Result<Plan, BillingError> {
    let b = db.get_database_backend();
    let now = OffsetDateTime::now_utc();
    let txn = begin_write(db).await?;
    exec(
        &txn,
        stmt(
            b,
            "INSERT INTO billing_plans (id, code, name, \"interval\", interval_count, price_cents, currency,
                 trial_days, seat_included, feature_toggles, is_active, stripe_price_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, \"interval\" = excluded.\"interval\",
                 interval_count = excluded.interval_count, price_cents = excluded.price_cents,
                 currency = excluded.currency, trial_days = excluded.trial_days,
                 seat_included = excluded.seat_included, feature_toggles = excluded.feature_toggles,
                 is_active = excluded.is_active, stripe_price_id = excluded.stripe_price_id,
                 updated_at = excluded.updated_at",
            vec![
                uuid(plan.id.as_uuid()),
                Value::from(plan.code.as_str()),
                Value::from(plan.name.as_str()),
                Value::from(plan.interval.as_str()),
                Value::from(plan.interval_count),
                Value::from(plan.price_cents),
                Value::from(plan.currency.as_str()),
                opt_i32(plan.trial_days),
                opt_i32(plan.seat_included),
                Value::Json(Some(Box::new(serde_json::Value::Object(plan.feature_toggles.clone())))),
                Value::from(plan.is_active),
                opt_str(plan.stripe_price_id.as_deref()),
                ts(b, now),
            ],
        ),
    )
    .await?;
    for f in &plan.features {
        exec(
            &txn,
            stmt(
                b,
                "INSERT INTO plan_features (plan_id, feature_key, display_name, description, hard_limit,
                     soft_limit, is_metered, created_at)
                 SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM billing_plans WHERE code = $1
                 ON CONFLICT (plan_id, feature_key) DO UPDATE SET display_name = excluded.display_name,
                     description = excluded.description, hard_limit = excluded.hard_limit,
                     soft_limit = excluded.soft_limit, is_metered = excluded.is_metered",
                vec![
                    Value::from(plan.code.as_str()),
                    Value::from(f.key.as_str()),
                    opt_str(f.display_name.as_deref()),
                    opt_str(f.description.as_deref()),
                    limit(f.hard_limit, "hard_limit")?,
                    limit(f.soft_limit, "soft_limit")?,
                    Value::from(f.is_metered),
                    ts(b, now),
                ],
            ),
        )
        .await?;
    }
    commit(txn).await?;
    load(db, Some(&plan.code))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| BillingError::Store(StoreError::Other("plan vanished after upsert".into())))
}
