//! The billing store port.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    Invoice, Period, Plan, QuotaDecision, Subscription, UsageRecorded, UsageReport, UsageTotal,
};
use crate::{StoreError, TenantId};

/// Errors of the billing store.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The plan or subscription does not exist.
    #[error("not found")]
    NotFound,
    /// The tenant already has a live subscription.
    #[error("tenant already has a live subscription")]
    AlreadySubscribed,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Plans, subscriptions, usage and processed webhook events.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Every plan with its features, by code.
    async fn plans(&self) -> Result<Vec<Plan>, BillingError>;

    /// One plan by code, `None` when unknown.
    async fn plan(&self, code: &str) -> Result<Option<Plan>, BillingError>;

    /// Creates or updates a plan and its features from configuration,
    /// matching by code.
    async fn upsert_plan(&self, plan: Plan) -> Result<Plan, BillingError>;

    /// The tenant's live subscription, if any.
    async fn live_subscription(
        &self,
        tenant: TenantId,
    ) -> Result<Option<Subscription>, BillingError>;

    /// Stores a new subscription. Errors: `AlreadySubscribed` when a live one
    /// exists (checked by a constraint, so concurrent creations cannot both win).
    async fn create_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError>;

    /// Saves changes to an existing subscription. Errors: `NotFound`.
    async fn update_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError>;

    /// The subscription with this processor id, for webhooks.
    async fn subscription_by_processor_id(
        &self,
        processor_subscription_id: &str,
    ) -> Result<Option<Subscription>, BillingError>;

    /// Records usage once per (tenant, idempotency key), also under
    /// concurrent retries.
    async fn record_usage(&self, report: UsageReport) -> Result<UsageRecorded, BillingError>;

    /// Totals per feature of the tenant's usage reported in `period`.
    async fn usage_totals(
        &self,
        tenant: TenantId,
        period: Period,
    ) -> Result<Vec<UsageTotal>, BillingError>;

    /// Atomically checks `hard_limit` and adds `quantity` to the tenant's
    /// counter for (feature, period) when it stays within it; concurrent
    /// callers can never pass the limit together. `None` means no limit.
    async fn consume_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
        hard_limit: Option<i64>,
    ) -> Result<QuotaDecision, BillingError>;

    /// Gives back quantity consumed by a turn that failed.
    async fn release_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
    ) -> Result<(), BillingError>;

    /// Marks a webhook event id processed. Returns false when it already was.
    async fn mark_event_processed(
        &self,
        event_id: &str,
        at: OffsetDateTime,
    ) -> Result<bool, BillingError>;

    /// Inserts or updates an invoice by its processor id.
    async fn upsert_invoice(&self, invoice: Invoice) -> Result<(), BillingError>;
}
