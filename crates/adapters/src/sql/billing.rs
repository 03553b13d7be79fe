//! `BillingStore` on sea-orm: plans and subscriptions in the Python
//! service's tables; usage, quota counters, the tenant's billing row and
//! webhook events in ours.

mod accounts;
mod events;
mod plans;
mod subscriptions;
mod usage;

use agents_domain::billing::{
    BillingAccount, BillingError, BillingStore, EventEffect, EventRecorded, Period, Plan,
    ProcessorCustomer, QuotaDecision, Subscription, UsageRecorded, UsageReport, UsageTotal,
};
use agents_domain::{SubscriptionId, TenantId};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, Value};
use time::OffsetDateTime;

use super::support::uuid;

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
        subscriptions::find(
            &self.db,
            "s.tenant_id = $1 AND s.status IN ('trialing', 'active', 'past_due', 'incomplete', 'unpaid')",
            vec![uuid(tenant.as_uuid())],
        )
        .await
    }

    async fn subscription(
        &self,
        tenant: TenantId,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>, BillingError> {
        subscriptions::find(
            &self.db,
            "s.tenant_id = $1 AND s.id = $2",
            vec![uuid(tenant.as_uuid()), uuid(id.as_uuid())],
        )
        .await
    }

    async fn create_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        subscriptions::create(&self.db, s).await
    }

    async fn update_subscription(&self, s: Subscription) -> Result<Subscription, BillingError> {
        subscriptions::update(&self.db, s).await
    }

    async fn subscription_by_processor_id(
        &self,
        processor_subscription_id: &str,
    ) -> Result<Option<Subscription>, BillingError> {
        subscriptions::find(
            &self.db,
            "s.processor_subscription_id = $1",
            vec![Value::from(processor_subscription_id)],
        )
        .await
    }

    async fn billing_account(&self, tenant: TenantId) -> Result<BillingAccount, BillingError> {
        accounts::account(&self.db, tenant).await
    }

    async fn save_customer(
        &self,
        tenant: TenantId,
        customer: ProcessorCustomer,
    ) -> Result<ProcessorCustomer, BillingError> {
        accounts::save_customer(&self.db, tenant, customer).await
    }

    async fn quota_window(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        candidate: Period,
    ) -> Result<Period, BillingError> {
        accounts::quota_window(&self.db, tenant, now, candidate).await
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

    async fn quota_used(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
    ) -> Result<i64, BillingError> {
        usage::used(&self.db, tenant, feature_key, period).await
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

    async fn apply_event(&self, effect: EventEffect) -> Result<EventRecorded, BillingError> {
        events::apply(&self.db, effect).await
    }
}
