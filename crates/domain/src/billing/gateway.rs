//! The payment gateway port: the processor that takes the money.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::SubscriptionStatus;
use crate::TenantId;

/// A customer to create at the processor for a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustomer {
    /// The tenant the customer pays for.
    pub tenant_id: TenantId,
    /// Where invoices go.
    pub billing_email: Option<String>,
}

/// Metered usage to report to the processor.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterEvent {
    /// The tenant that used it (part of the event's identity: two tenants'
    /// reports never deduplicate each other).
    pub tenant_id: TenantId,
    /// The processor's customer billed.
    pub customer_id: String,
    /// The feature key (the processor's meter event name).
    pub feature_key: String,
    /// Amount.
    pub quantity: i64,
    /// The report's idempotency key within the tenant: the same key is the
    /// same event, so a retried report is counted once.
    pub idempotency_key: String,
    /// When it was used.
    pub at: OffsetDateTime,
}

/// A subscription to create at the processor.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGatewaySubscription {
    /// The subscribing tenant.
    pub tenant_id: TenantId,
    /// The tenant's processor customer (from [`PaymentGateway::create_customer`]).
    pub customer_id: Option<String>,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// Our plan code.
    pub plan_code: String,
    /// The processor's price id for the plan.
    pub price_id: Option<String>,
    /// Seats.
    pub seat_count: i32,
    /// Trial length.
    pub trial_days: Option<i32>,
    /// Makes retries of the same creation safe.
    pub idempotency_key: String,
}

/// A change to a subscription at the processor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionChange {
    /// New price (plan change).
    pub price_id: Option<String>,
    /// New seat count.
    pub seat_count: Option<i32>,
    /// Cancel at the period end (or undo it).
    pub cancel_at_period_end: Option<bool>,
}

/// The processor's view of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewaySubscription {
    /// Processor name (`local`, `stripe`).
    pub processor: String,
    /// Customer id at the processor.
    pub customer_id: Option<String>,
    /// Subscription id at the processor.
    pub subscription_id: Option<String>,
    /// Status.
    pub status: SubscriptionStatus,
    /// Current period start.
    pub current_period_start: Option<OffsetDateTime>,
    /// Current period end.
    pub current_period_end: Option<OffsetDateTime>,
    /// Trial end.
    pub trial_ends_at: Option<OffsetDateTime>,
    /// Scheduled cancellation.
    pub cancel_at: Option<OffsetDateTime>,
}

/// Why the processor refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The processor refused the request as invalid (bad price, bad email).
    #[error("payment processor rejected the request: {0}")]
    Rejected(String),
    /// A card was declined.
    #[error("payment declined: {0}")]
    Declined(String),
    /// The processor did not answer or failed (after retries).
    #[error("payment processor unavailable: {0}")]
    Unavailable(String),
}

/// A payment processor.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The processor's name, stored in `processor`.
    fn name(&self) -> &'static str;

    /// Creates the tenant's customer; `None` for a processor without
    /// customers (`local`). Called once per tenant: its id is stored and
    /// reused by every later subscription.
    async fn create_customer(&self, request: NewCustomer) -> Result<Option<String>, GatewayError>;

    /// Creates the subscription for `request.customer_id`.
    async fn create_subscription(
        &self,
        request: NewGatewaySubscription,
    ) -> Result<GatewaySubscription, GatewayError>;

    /// Applies a change to an existing subscription.
    async fn update_subscription(
        &self,
        subscription_id: &str,
        change: SubscriptionChange,
    ) -> Result<GatewaySubscription, GatewayError>;

    /// Cancels now.
    async fn cancel_subscription(
        &self,
        subscription_id: &str,
    ) -> Result<GatewaySubscription, GatewayError>;

    /// Reports metered usage; the processor counts the same (tenant,
    /// idempotency key) once.
    async fn report_usage(&self, event: MeterEvent) -> Result<(), GatewayError>;
}
