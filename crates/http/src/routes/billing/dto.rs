//! Request and response bodies of the billing routes (API.md "Billing").

use agents_application::billing::{FeatureUsage, UsageSummary};
use agents_domain::billing::{Plan, PlanFeature, Subscription};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A plan feature and its per-period limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureBody {
    /// Feature key (`messages`, `tokens`).
    pub key: String,
    /// Human name.
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Usage past this is refused.
    pub hard_limit: Option<i64>,
    /// Usage past this is reported.
    pub soft_limit: Option<i64>,
    /// Reported to the payment processor.
    pub is_metered: bool,
}

impl From<PlanFeature> for FeatureBody {
    fn from(f: PlanFeature) -> Self {
        Self {
            key: f.key,
            display_name: f.display_name,
            description: f.description,
            hard_limit: f.hard_limit,
            soft_limit: f.soft_limit,
            is_metered: f.is_metered,
        }
    }
}

/// A billing plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanBody {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// `monthly`, `yearly`.
    pub interval: String,
    /// Intervals per period.
    pub interval_count: i32,
    /// Price per period in minor units.
    pub price_cents: i32,
    /// ISO currency.
    pub currency: String,
    /// Trial length in days.
    pub trial_days: Option<i32>,
    /// Seats included.
    pub seat_included: Option<i32>,
    /// Switches such as `enable_web_search`.
    #[schema(value_type = Object)]
    pub feature_toggles: serde_json::Map<String, serde_json::Value>,
    /// Open to new subscriptions.
    pub is_active: bool,
    /// Features and limits.
    pub features: Vec<FeatureBody>,
}

impl From<Plan> for PlanBody {
    fn from(p: Plan) -> Self {
        Self {
            code: p.code,
            name: p.name,
            interval: p.interval,
            interval_count: p.interval_count,
            price_cents: p.price_cents,
            currency: p.currency,
            trial_days: p.trial_days,
            seat_included: p.seat_included,
            feature_toggles: p.feature_toggles,
            is_active: p.is_active,
            features: p.features.into_iter().map(FeatureBody::from).collect(),
        }
    }
}

/// A tenant's subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionBody {
    /// The tenant.
    pub tenant_id: String,
    /// The plan.
    pub plan_code: String,
    /// Stripe's vocabulary: `trialing`, `active`, `past_due`, `canceled`, ...
    pub status: String,
    /// Renews at period end.
    pub auto_renew: bool,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Current period start.
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_start: Option<OffsetDateTime>,
    /// Current period end.
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    /// End of the trial.
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_ends_at: Option<OffsetDateTime>,
    /// Scheduled or effective cancellation.
    #[serde(with = "time::serde::rfc3339::option")]
    pub cancel_at: Option<OffsetDateTime>,
    /// Seats.
    pub seat_count: Option<i32>,
    /// Free-form metadata.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

impl From<Subscription> for SubscriptionBody {
    fn from(s: Subscription) -> Self {
        Self {
            tenant_id: s.tenant_id.to_string(),
            plan_code: s.plan_code,
            status: s.status.as_str().to_owned(),
            auto_renew: s.auto_renew,
            billing_email: s.billing_email,
            starts_at: s.starts_at,
            current_period_start: s.current_period_start,
            current_period_end: s.current_period_end,
            trial_ends_at: s.trial_ends_at,
            cancel_at: s.cancel_at,
            seat_count: s.seat_count,
            metadata: match s.metadata {
                serde_json::Value::Null => serde_json::json!({}),
                other => other,
            },
        }
    }
}

/// `POST .../subscription`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartSubscriptionRequest {
    /// The plan.
    pub plan_code: String,
    /// Where invoices go (at most 256 characters).
    #[serde(default)]
    #[schema(format = Email, max_length = 256)]
    pub billing_email: Option<String>,
    /// Default true.
    #[serde(default)]
    pub auto_renew: Option<bool>,
    /// Seats, > 0.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub seat_count: Option<i64>,
}

/// `PATCH .../subscription`: at least one field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateSubscriptionRequest {
    /// A new plan.
    #[serde(default)]
    pub plan_code: Option<String>,
    /// Renew at period end.
    #[serde(default)]
    pub auto_renew: Option<bool>,
    /// Where invoices go (at most 256 characters).
    #[serde(default)]
    #[schema(format = Email, max_length = 256)]
    pub billing_email: Option<String>,
    /// Seats, > 0.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub seat_count: Option<i64>,
}

/// `POST .../subscription/cancel` (the body may be absent).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CancelRequest {
    /// Default true: cancel at the period end; false cancels now.
    #[serde(default = "yes")]
    pub cancel_at_period_end: bool,
}

fn yes() -> bool {
    true
}

/// `POST .../usage`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UsageRequest {
    /// Feature key: 1-64 characters of `[A-Za-z0-9_.:-]`.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$")]
    pub feature_key: String,
    /// Amount: 1 to 1,000,000 per report.
    #[schema(minimum = 1, maximum = 1000000)]
    #[serde(deserialize_with = "usage_quantity")]
    pub quantity: i64,
    /// The same key counts once: 1-128 characters of `[A-Za-z0-9_.:-]`.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$")]
    pub idempotency_key: Option<String>,
    /// RFC 3339; with `period_end`; default the current period.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub period_start: Option<OffsetDateTime>,
    /// RFC 3339, exclusive.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub period_end: Option<OffsetDateTime>,
}

/// Most units one usage report may carry (API.md "Billing").
pub const MAX_USAGE_QUANTITY: i64 = 1_000_000;

/// Reads `quantity`, refusing what the document does not allow, so the
/// edge enforces exactly the range it declares.
fn usage_quantity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let quantity = i64::deserialize(deserializer)?;
    if (1..=MAX_USAGE_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be between 1 and {MAX_USAGE_QUANTITY}"
        )))
    }
}

/// `GET .../usage` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UsageQuery {
    /// RFC 3339; default the current period.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub period_start: Option<OffsetDateTime>,
    /// RFC 3339, exclusive.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub period_end: Option<OffsetDateTime>,
}

/// `202` of a usage report.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedBody {
    /// Always true.
    pub success: bool,
    /// `Usage recorded.`
    pub message: String,
}

/// One feature's total in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureUsageBody {
    /// Feature key.
    pub feature_key: String,
    /// Sum of the period's reports.
    pub quantity: i64,
    /// The plan's hard limit.
    pub hard_limit: Option<i64>,
    /// The plan's soft limit.
    pub soft_limit: Option<i64>,
    /// The soft limit is reached.
    pub soft_limit_reached: bool,
    /// The hard limit is reached.
    pub hard_limit_reached: bool,
}

impl From<FeatureUsage> for FeatureUsageBody {
    fn from(f: FeatureUsage) -> Self {
        Self {
            feature_key: f.feature_key,
            quantity: f.quantity,
            hard_limit: f.hard_limit,
            soft_limit: f.soft_limit,
            soft_limit_reached: f.soft_limit_reached,
            hard_limit_reached: f.hard_limit_reached,
        }
    }
}

/// Usage totals per feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageBody {
    /// The tenant.
    pub tenant_id: String,
    /// The plan in force (`DEFAULT_PLAN` without a subscription).
    pub plan_code: Option<String>,
    /// Period start.
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// Period end (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    /// Totals by feature key.
    pub features: Vec<FeatureUsageBody>,
}

impl From<UsageSummary> for UsageBody {
    fn from(u: UsageSummary) -> Self {
        Self {
            tenant_id: u.tenant_id.to_string(),
            plan_code: u.plan_code,
            period_start: u.period.start,
            period_end: u.period.end,
            features: u.features.into_iter().map(FeatureUsageBody::from).collect(),
        }
    }
}

/// `200` of a webhook delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookBody {
    /// Always true once verified.
    pub received: bool,
    /// `applied`; `duplicate` (its id was processed before); `ignored`
    /// (unknown type or subscription, older than the last event applied to
    /// its subscription, or about a subscription that has ended).
    pub status: String,
}
