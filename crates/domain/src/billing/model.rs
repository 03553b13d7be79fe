//! Billing entities.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{PlanId, SubscriptionId, TenantId};

/// A feature of a plan, with its per-period limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFeature {
    /// Feature key (`messages`, `tokens`, ...).
    pub key: String,
    /// Human name.
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Usage past this is refused.
    pub hard_limit: Option<i64>,
    /// Usage past this is reported.
    pub soft_limit: Option<i64>,
    /// Whether usage is reported to the processor.
    pub is_metered: bool,
}

/// A billing plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Row id.
    pub id: PlanId,
    /// Stable code (`starter`, `pro`).
    pub code: String,
    /// Display name.
    pub name: String,
    /// Billing interval unit (`monthly`, `yearly`).
    pub interval: String,
    /// Intervals per period.
    pub interval_count: i32,
    /// Price per period in the currency's minor unit.
    pub price_cents: i32,
    /// ISO currency code.
    pub currency: String,
    /// Trial length.
    pub trial_days: Option<i32>,
    /// Seats included.
    pub seat_included: Option<i32>,
    /// Feature switches (`enable_web_search`).
    pub feature_toggles: serde_json::Map<String, serde_json::Value>,
    /// Whether new subscriptions may use it.
    pub is_active: bool,
    /// The processor's price id, when mapped.
    pub stripe_price_id: Option<String>,
    /// Features and limits.
    pub features: Vec<PlanFeature>,
}

impl Plan {
    /// The feature with `key`, if the plan has it.
    pub fn feature(&self, key: &str) -> Option<&PlanFeature> {
        self.features.iter().find(|f| f.key == key)
    }

    /// Whether a boolean toggle is on; absent toggles default to `default`.
    pub fn toggle(&self, name: &str, default: bool) -> bool {
        self.feature_toggles
            .get(name)
            .and_then(|v| v.as_bool())
            .unwrap_or(default)
    }
}

/// Subscription status in Stripe's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// In a trial.
    Trialing,
    /// Paid and running.
    Active,
    /// A payment failed; still live.
    PastDue,
    /// First payment pending.
    Incomplete,
    /// First payment never arrived.
    IncompleteExpired,
    /// Payments failed repeatedly; still live.
    Unpaid,
    /// Ended.
    Canceled,
    /// Paused by the processor.
    Paused,
}

impl SubscriptionStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Unpaid => "unpaid",
            Self::Canceled => "canceled",
            Self::Paused => "paused",
        }
    }

    /// Parses a stored name (`cancelled` accepted as `canceled`).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "unpaid" => Self::Unpaid,
            "canceled" | "cancelled" => Self::Canceled,
            "paused" => Self::Paused,
            _ => return None,
        })
    }

    /// Live statuses: at most one live subscription per tenant.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Trialing | Self::Active | Self::PastDue | Self::Incomplete | Self::Unpaid
        )
    }
}

/// A tenant's subscription to a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Row id.
    pub id: SubscriptionId,
    /// Subscribing tenant.
    pub tenant_id: TenantId,
    /// The plan's row id.
    pub plan_id: PlanId,
    /// The plan's code.
    pub plan_code: String,
    /// Status.
    pub status: SubscriptionStatus,
    /// Renews at period end.
    pub auto_renew: bool,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// `local` or `stripe`.
    pub processor: Option<String>,
    /// The processor's customer id.
    pub processor_customer_id: Option<String>,
    /// The processor's subscription id.
    pub processor_subscription_id: Option<String>,
    /// Start.
    pub starts_at: OffsetDateTime,
    /// Current period start.
    pub current_period_start: Option<OffsetDateTime>,
    /// Current period end.
    pub current_period_end: Option<OffsetDateTime>,
    /// End of the trial.
    pub trial_ends_at: Option<OffsetDateTime>,
    /// When it will cancel.
    pub cancel_at: Option<OffsetDateTime>,
    /// Seats.
    pub seat_count: Option<i32>,
    /// Free-form metadata.
    pub metadata: serde_json::Value,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// The stored version this value was read at: every update is
    /// conditional on it, so concurrent writers never overwrite each other.
    pub version: i64,
    /// `created` of the last processor event applied to it; older events
    /// arriving late change nothing.
    pub last_event_at: Option<OffsetDateTime>,
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Inclusive start.
    pub start: OffsetDateTime,
    /// Exclusive end.
    pub end: OffsetDateTime,
}

impl Period {
    /// Whether `at` lies in `[start, end)`.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// A tenant's customer at a payment processor, reused by every later
/// subscription of the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorCustomer {
    /// The processor (`stripe`).
    pub processor: String,
    /// The processor's customer id.
    pub customer_id: String,
}

/// What billing remembers about a tenant across its subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillingAccount {
    /// The tenant's processor customer, once one was created.
    pub customer: Option<ProcessorCustomer>,
    /// Whether a subscription with a trial was ever created: a tenant gets
    /// one trial.
    pub trial_used: bool,
}

/// A usage report.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    /// The tenant that used it.
    pub tenant_id: TenantId,
    /// Feature key.
    pub feature_key: String,
    /// Amount, > 0.
    pub quantity: i64,
    /// Counts once per key per tenant.
    pub idempotency_key: Option<String>,
    /// The billing period it belongs to.
    pub period: Period,
    /// When it was reported.
    pub reported_at: OffsetDateTime,
}

/// Whether a usage report counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageRecorded {
    /// Counted now.
    Recorded,
    /// Its idempotency key was seen before: not counted again.
    Duplicate,
}

/// Usage of one feature in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageTotal {
    /// Feature key.
    pub feature_key: String,
    /// Sum of quantities.
    pub quantity: i64,
}

/// The answer to a quota check-and-consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaDecision {
    /// Consumed; `used` is the new total in the period.
    Granted {
        /// Total after this consumption.
        used: i64,
    },
    /// Refused: the hard limit is reached.
    Exceeded {
        /// The limit.
        limit: i64,
    },
}

/// An invoice mirrored from the processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    /// The subscription invoiced.
    pub subscription_id: SubscriptionId,
    /// The processor's invoice id.
    pub external_invoice_id: String,
    /// Period covered.
    pub period: Period,
    /// Amount in minor units.
    pub amount_cents: i32,
    /// Currency.
    pub currency: String,
    /// `paid`, `open`, `uncollectible`, ...
    pub status: String,
    /// Hosted page.
    pub hosted_invoice_url: Option<String>,
}
