//! The processor's webhook port: verify a delivery and read it as a billing
//! event, so the application applies events without seeing vendor JSON.

use time::OffsetDateTime;

use super::{Invoice, SubscriptionStatus};

/// The processor's view of a subscription carried by an event.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionSnapshot {
    /// The processor's subscription id.
    pub processor_subscription_id: String,
    /// Status.
    pub status: SubscriptionStatus,
    /// Current period start.
    pub current_period_start: Option<OffsetDateTime>,
    /// Current period end.
    pub current_period_end: Option<OffsetDateTime>,
    /// End of the trial.
    pub trial_ends_at: Option<OffsetDateTime>,
    /// Scheduled cancellation.
    pub cancel_at: Option<OffsetDateTime>,
    /// Seats (the first item's quantity), when sent.
    pub seat_count: Option<i32>,
}

/// An invoice event. `invoice.subscription_id` is unknown to the processor,
/// so the application fills it in after looking up `processor_subscription_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceSnapshot {
    /// The processor's subscription id the invoice belongs to.
    pub processor_subscription_id: String,
    /// The invoice, with a placeholder subscription id.
    pub invoice: Invoice,
}

/// What a webhook delivery says happened.
#[derive(Debug, Clone, PartialEq)]
pub enum BillingEventKind {
    /// `customer.subscription.updated`.
    SubscriptionUpdated(SubscriptionSnapshot),
    /// `customer.subscription.deleted`.
    SubscriptionDeleted(SubscriptionSnapshot),
    /// `invoice.paid`.
    InvoicePaid(InvoiceSnapshot),
    /// `invoice.payment_failed`.
    InvoicePaymentFailed(InvoiceSnapshot),
    /// Any other type: acknowledged and ignored.
    Ignored(String),
}

/// A verified webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingEvent {
    /// The processor's event id (each is applied at most once).
    pub id: String,
    /// When the processor created the event: events about one subscription
    /// are applied in this order.
    pub created: OffsetDateTime,
    /// What happened.
    pub kind: BillingEventKind,
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or malformed signature header, no matching signature, or a
    /// timestamp outside the tolerance (400 `invalid_signature`).
    #[error("invalid webhook signature")]
    InvalidSignature,
    /// Signed correctly but not a readable event (400).
    #[error("malformed webhook payload: {0}")]
    Malformed(String),
    /// No webhook secret is configured (503): deliveries cannot be trusted.
    #[error("webhook verification is not configured")]
    NotConfigured,
}

/// Verifies webhook deliveries of one processor and reads them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait WebhookVerifier: Send + Sync {
    /// Checks `signature` (the raw signature header) over the raw `payload`
    /// at time `now`, then parses the event. Errors: `InvalidSignature`
    /// before anything is parsed, `Malformed` for a signed but unreadable body.
    fn verify(
        &self,
        payload: &[u8],
        signature: Option<String>,
        now: OffsetDateTime,
    ) -> Result<BillingEvent, WebhookError>;
}
