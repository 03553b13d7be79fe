//! `BillingStore` on sea-orm: plans and subscriptions in the Python
//! service's tables; usage, quota counters and webhook events in ours.

mod plans;
mod usage;

use agents_domain::billing::{
    BillingError, BillingStore, Invoice, Period, Plan, QuotaDecision, Subscription,
    SubscriptionStatus, UsageRecorded, UsageReport, UsageTotal,
};
use agents_domain::{PlanId, StoreError, SubscriptionId, TenantId};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DbBackend, DbErr, QueryResult, Value};
use time::OffsetDateTime;

use super::support::{
    exec, get, is_foreign_key_violation, one, opt_i32, opt_str, stmt, store_err, ts, ts_opt,
    unique_violation, uuid,
};

/// Plans, subscriptions, usage and processed events in SQL.
#[derive(Debug, Clone)]
pub struct SeaOrmBillingStore {
    db: DatabaseConnection,
}

impl SeaOrmBillingStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// Maps a failed subscription write: the live-subscription index gives
/// `AlreadySubscribed`, a missing plan or tenant `NotFound`.
fn subscription_err(err: DbErr) -> BillingError {
    if unique_violation(&err).is_some() {
        return BillingError::AlreadySubscribed;
    }
    if is_foreign_key_violation(&err) {
        return BillingError::NotFound;
    }
    BillingError::Store(store_err(err))
}

const SUBSCRIPTION_SELECT: &str = "SELECT s.id, s.tenant_id, s.plan_id, p.code AS plan_code, s.status, s.auto_renew,
     s.billing_email, s.processor, s.processor_customer_id, s.processor_subscription_id, s.starts_at,
     s.current_period_start, s.current_period_end, s.trial_ends_at, s.cancel_at, s.seat_count,
     s.metadata_json, s.created_at, s.updated_at
     FROM tenant_subscriptions s JOIN billing_plans p ON p.id = s.plan_id";

fn subscription(row: &QueryResult) -> Result<Subscription, StoreError> {
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
    })
}

/// The values of a subscription row in the order `$1..$18` of the writes below.
fn subscription_values(b: DbBackend, s: &Subscription) -> Vec<Value> {
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
    ]
}

impl SeaOrmBillingStore {
    async fn subscription_where(
        &self,
        clause: &str,
        values: Vec<Value>,
    ) -> Result<Option<Subscription>, BillingError> {
        let sql =
            format!("{SUBSCRIPTION_SELECT} WHERE {clause} ORDER BY s.created_at DESC LIMIT 1");
        let row = one(&self.db, stmt(self.backend(), &sql, values)).await?;
        Ok(row.as_ref().map(subscription).transpose()?)
    }

    async fn subscription_by_id(&self, id: SubscriptionId) -> Result<Subscription, BillingError> {
        self.subscription_where("s.id = $1", vec![uuid(id.as_uuid())])
            .await?
            .ok_or(BillingError::NotFound)
    }
}

#[async_trait]
impl BillingStore for SeaOrmBillingStore {
    async fn plans(&self) -> Result<Vec<Plan>, BillingError> {
        plans::load(&self.db, None).await
    }

    async fn plan(&self, code: &str) -> Result<Option<Plan>, BillingError> {
        Ok(plans::load(&self.db, Some(code)).await?.into_iter().next())
    }

    async fn upsert_plan(&self, plan: Plan) -> Result<Plan, BillingError> {
        plans::upsert(&self.db, plan).await
    }

    async fn live_subscription(
        &self,
        tenant: TenantId,
    ) -> Result<Option<Subscription>, BillingError> {
        self.subscription_where(
            "s.tenant_id = $1 AND s.status IN ('trialing', 'active', 'past_due', 'incomplete', 'unpaid')",
            vec![uuid(tenant.as_uuid())],
        )
        .await
    }

    async fn create_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        let b = self.backend();
        use sea_orm::ConnectionTrait;
        self.db
            .execute_raw(stmt(
                b,
                "INSERT INTO tenant_subscriptions (id, tenant_id, plan_id, status, auto_renew, billing_email,
                     processor, processor_customer_id, processor_subscription_id, starts_at,
                     current_period_start, current_period_end, trial_ends_at, cancel_at, seat_count,
                     metadata_json, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                subscription_values(b, &s),
            ))
            .await
            .map_err(subscription_err)?;
        self.subscription_by_id(s.id).await
    }

    async fn update_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        let b = self.backend();
        use sea_orm::ConnectionTrait;
        let changed = self
            .db
            .execute_raw(stmt(
                b,
                "UPDATE tenant_subscriptions SET tenant_id = $2, plan_id = $3, status = $4, auto_renew = $5,
                     billing_email = $6, processor = $7, processor_customer_id = $8,
                     processor_subscription_id = $9, starts_at = $10, current_period_start = $11,
                     current_period_end = $12, trial_ends_at = $13, cancel_at = $14, seat_count = $15,
                     metadata_json = $16, created_at = $17, updated_at = $18
                 WHERE id = $1",
                subscription_values(b, &s),
            ))
            .await
            .map_err(subscription_err)?
            .rows_affected();
        if changed == 0 {
            return Err(BillingError::NotFound);
        }
        self.subscription_by_id(s.id).await
    }

    async fn subscription_by_processor_id(
        &self,
        processor_subscription_id: &str,
    ) -> Result<Option<Subscription>, BillingError> {
        self.subscription_where(
            "s.processor_subscription_id = $1",
            vec![Value::from(processor_subscription_id)],
        )
        .await
    }

    async fn record_usage(&self, report: UsageReport) -> Result<UsageRecorded, BillingError> {
        usage::record(&self.db, report).await
    }

    async fn usage_totals(
        &self,
        tenant: TenantId,
        period: Period,
    ) -> Result<Vec<UsageTotal>, BillingError> {
        usage::totals(&self.db, tenant, period).await
    }

    async fn consume_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
        hard_limit: Option<i64>,
    ) -> Result<QuotaDecision, BillingError> {
        usage::consume(&self.db, tenant, feature_key, period, quantity, hard_limit).await
    }

    async fn release_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
    ) -> Result<(), BillingError> {
        usage::release(&self.db, tenant, feature_key, period, quantity).await
    }

    async fn mark_event_processed(
        &self,
        event_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, BillingError> {
        let b = self.backend();
        let inserted = exec(
            &self.db,
            stmt(
                b,
                "INSERT INTO stripe_events (event_id, processed_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
                vec![Value::from(event_id), ts(b, at)],
            ),
        )
        .await?;
        Ok(inserted == 1)
    }

    async fn upsert_invoice(&self, invoice: Invoice) -> Result<(), BillingError> {
        usage::upsert_invoice(&self.db, invoice).await
    }
}
