//! The billing store port.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    BillingAccount, Invoice, Period, Plan, ProcessorCustomer, QuotaDecision, Subscription,
    UsageRecorded, UsageReport, UsageTotal,
};
use crate::{StoreError, SubscriptionId, TenantId};

/// Errors of the billing store.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The plan or subscription does not exist.
    #[error("not found")]
    NotFound,
    /// The tenant already has a live subscription.
    #[error("tenant already has a live subscription")]
    AlreadySubscribed,
    /// The subscription changed since it was read (its version moved on):
    /// nothing was written; read it again and redo the change.
    #[error("the subscription changed since it was read")]
    VersionConflict,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A processor event to record as processed together with what it changes,
/// in one transaction: either all of it is stored or none of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEffect {
    /// The processor's event id (recorded once).
    pub event_id: String,
    /// When we received it.
    pub received_at: OffsetDateTime,
    /// The subscription's new state, written conditionally on its
    /// `version` (the version it was read at).
    pub subscription: Option<Subscription>,
    /// An invoice to insert or update by its processor id.
    pub invoice: Option<Invoice>,
}

/// What became of an [`EventEffect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRecorded {
    /// Recorded now, with its changes.
    Applied,
    /// The event id was recorded before: nothing written.
    Duplicate,
}

/// Plans, subscriptions, usage, quota windows and processed webhook events.
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

    /// One of the tenant's subscriptions by id (live or not).
    async fn subscription(
        &self,
        tenant: TenantId,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>, BillingError>;

    /// Stores a new subscription (at version 0) and, in the same
    /// transaction, marks the tenant's trial used when it has a
    /// `trial_ends_at`. Errors: `AlreadySubscribed` when a live one exists
    /// (checked by a constraint, so concurrent creations cannot both win);
    /// `NotFound` for an unknown tenant or plan.
    async fn create_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError>;

    /// Saves changes to an existing subscription if its stored version is
    /// still `subscription.version`; the stored version then moves to the
    /// next one (returned). Errors: `NotFound`, `VersionConflict`,
    /// `AlreadySubscribed` (making it live beside another live one).
    async fn update_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError>;

    /// The newest subscription with this processor id, for webhooks.
    async fn subscription_by_processor_id(
        &self,
        processor_subscription_id: &str,
    ) -> Result<Option<Subscription>, BillingError>;

    /// What billing remembers about the tenant (default when nothing).
    async fn billing_account(&self, tenant: TenantId) -> Result<BillingAccount, BillingError>;

    /// Records the tenant's processor customer unless one of the same
    /// processor is already recorded; returns the one recorded (the first
    /// wins under concurrency). Errors: `NotFound` for an unknown tenant.
    async fn save_customer(
        &self,
        tenant: TenantId,
        customer: ProcessorCustomer,
    ) -> Result<ProcessorCustomer, BillingError>;

    /// The tenant's quota window in force at `now`: the stored one, or the
    /// one [`next_window`](super::next_window) opens from it and
    /// `candidate` (stored with its anchor); atomic, so concurrent callers
    /// agree.
    async fn quota_window(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        candidate: Period,
    ) -> Result<Period, BillingError>;

    /// Records usage once per (tenant, idempotency key), also under
    /// concurrent retries.
    async fn record_usage(&self, report: UsageReport) -> Result<UsageRecorded, BillingError>;

    /// Totals per feature of the tenant's usage reported in `period`,
    /// saturating at `i64::MAX` instead of overflowing.
    async fn usage_totals(
        &self,
        tenant: TenantId,
        period: Period,
    ) -> Result<Vec<UsageTotal>, BillingError>;

    /// Atomically checks `hard_limit` and adds `quantity` to the tenant's
    /// counter for (feature, period start) when it stays within it;
    /// concurrent callers can never pass the limit together. `None` means
    /// no limit. The counter saturates instead of overflowing.
    async fn consume_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
        hard_limit: Option<i64>,
    ) -> Result<QuotaDecision, BillingError>;

    /// The tenant's counter for (feature, period start), 0 when none.
    async fn quota_used(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
    ) -> Result<i64, BillingError>;

    /// Gives back quantity consumed by a turn that failed.
    async fn release_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
    ) -> Result<(), BillingError>;

    /// Records a processor event id as processed and applies its effect in
    /// one transaction. `Duplicate` (nothing written) when the id was
    /// recorded before. Errors (nothing written, the event stays
    /// unprocessed so the processor's retry applies it): `VersionConflict`
    /// when the subscription moved past the version read, `NotFound` when
    /// it or the invoice's subscription does not exist, store failures.
    async fn apply_event(&self, effect: EventEffect) -> Result<EventRecorded, BillingError>;
}
