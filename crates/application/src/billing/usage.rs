//! Usage: reports counted once per idempotency key, totals per feature with
//! the plan's limits, and metered usage forwarded to the processor.

use agents_domain::billing::{
    MeterEvent, Period, Plan, Subscription, UsageQuantity, UsageRecorded, UsageReport,
};
use agents_domain::{FieldError, TenantId};
use time::OffsetDateTime;

use super::{BillingService, BillingServiceError, acting, managing};
use crate::accounts::Caller;

/// `POST .../usage`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageInput {
    /// Feature key (`messages`, `tokens`, ...).
    pub feature_key: String,
    /// Amount, 1 to 1,000,000.
    pub quantity: i64,
    /// Counts once per key and tenant.
    pub idempotency_key: Option<String>,
    /// Period start; default the current period (given with `period_end`).
    pub period_start: Option<OffsetDateTime>,
    /// Period end (exclusive).
    pub period_end: Option<OffsetDateTime>,
}

/// One feature's usage in a period, with the plan's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureUsage {
    /// Feature key.
    pub feature_key: String,
    /// Total reported in the period.
    pub quantity: i64,
    /// The plan's hard limit.
    pub hard_limit: Option<i64>,
    /// The plan's soft limit.
    pub soft_limit: Option<i64>,
    /// `quantity >= soft_limit`.
    pub soft_limit_reached: bool,
    /// `quantity >= hard_limit`.
    pub hard_limit_reached: bool,
}

/// Usage totals of a tenant in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSummary {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The plan in force (`DEFAULT_PLAN` without a subscription).
    pub plan_code: Option<String>,
    /// The period summed.
    pub period: Period,
    /// Every plan feature, and any other feature with usage, by key.
    pub features: Vec<FeatureUsage>,
}

fn key_ok(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// The explicit period of a request, if any; both ends or none.
fn explicit_period(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    errors: &mut Vec<FieldError>,
) -> Option<Period> {
    match (start, end) {
        (None, None) => None,
        (Some(start), Some(end)) if start < end => Some(Period { start, end }),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("period_end", "must be after period_start"));
            None
        }
        (Some(_), None) => {
            errors.push(FieldError::new(
                "period_end",
                "is required with period_start",
            ));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::new(
                "period_start",
                "is required with period_end",
            ));
            None
        }
    }
}

fn checked(errors: Vec<FieldError>) -> Result<(), BillingServiceError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(BillingServiceError::Invalid(errors))
    }
}

impl BillingService {
    /// Records usage for the caller's tenant (owner/admin); the same
    /// idempotency key counts once, also under concurrent retries.
    pub async fn record_usage(
        &self,
        caller: &Caller,
        input: UsageInput,
    ) -> Result<UsageRecorded, BillingServiceError> {
        let tenant = managing(caller)?;
        let mut errors = Vec::new();
        if !key_ok(&input.feature_key, 64) {
            errors.push(FieldError::new(
                "feature_key",
                "must be 1-64 characters of letters, digits, `_`, `-`, `.`, `:`",
            ));
        }
        let quantity = UsageQuantity::parse(input.quantity)
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(key) = &input.idempotency_key
            && !key_ok(key, 128)
        {
            errors.push(FieldError::new(
                "idempotency_key",
                "must be 1-128 characters of letters, digits, `_`, `-`, `.`, `:`",
            ));
        }
        let period = explicit_period(input.period_start, input.period_end, &mut errors);
        checked(errors)?;
        let quantity = quantity.map_or(0, UsageQuantity::get);
        let now = self.clock.now();
        let subscription = self.store.live_subscription(tenant).await?;
        let period = match period {
            Some(period) => period,
            None => self.window(tenant, subscription.as_ref(), now).await?,
        };
        let key = input.idempotency_key;
        let recorded = self
            .store
            .record_usage(UsageReport {
                tenant_id: tenant,
                feature_key: input.feature_key.clone(),
                quantity,
                idempotency_key: key.clone(),
                period,
                reported_at: now,
            })
            .await?;
        // Only a processor customer can be metered: without one, the plan
        // need not be read (the common, local case stays one query lighter).
        if recorded == UsageRecorded::Recorded
            && let Some(s) = subscription
                .as_ref()
                .filter(|s| s.processor_customer_id.is_some())
        {
            let plan = self.store.plan(&s.plan_code).await?;
            let key = key.unwrap_or_else(|| format!("usage-{}", uuid::Uuid::new_v4()));
            let metered = Metered::of(Some(s), plan.as_ref(), self.gateway.name());
            self.report_metered(tenant, &metered, &input.feature_key, quantity, key, now);
        }
        Ok(recorded)
    }

    /// Usage totals of the caller's tenant (any member) in `[start, end)`,
    /// by default the current period.
    pub async fn usage(
        &self,
        caller: &Caller,
        start: Option<OffsetDateTime>,
        end: Option<OffsetDateTime>,
    ) -> Result<UsageSummary, BillingServiceError> {
        let (tenant, _) = acting(caller)?;
        let mut errors = Vec::new();
        let period = explicit_period(start, end, &mut errors);
        checked(errors)?;
        let (subscription, plan) = self.plan_in_force(tenant).await?;
        let period = match period {
            Some(period) => period,
            None => {
                self.window(tenant, subscription.as_ref(), self.clock.now())
                    .await?
            }
        };
        let totals = self.store.usage_totals(tenant, period).await?;
        let mut features: Vec<FeatureUsage> = plan
            .iter()
            .flat_map(|p| p.features.iter())
            .map(|f| {
                let quantity = totals
                    .iter()
                    .find(|t| t.feature_key == f.key)
                    .map_or(0, |t| t.quantity);
                FeatureUsage {
                    feature_key: f.key.clone(),
                    quantity,
                    hard_limit: f.hard_limit,
                    soft_limit: f.soft_limit,
                    soft_limit_reached: f.soft_limit.is_some_and(|l| quantity >= l),
                    hard_limit_reached: f.hard_limit.is_some_and(|l| quantity >= l),
                }
            })
            .collect();
        for total in totals {
            if !features.iter().any(|f| f.feature_key == total.feature_key) {
                features.push(FeatureUsage {
                    feature_key: total.feature_key,
                    quantity: total.quantity,
                    hard_limit: None,
                    soft_limit: None,
                    soft_limit_reached: false,
                    hard_limit_reached: false,
                });
            }
        }
        features.sort_by(|a, b| a.feature_key.cmp(&b.feature_key));
        Ok(UsageSummary {
            tenant_id: tenant,
            plan_code: plan.map(|p| p.code),
            period,
            features,
        })
    }

    /// Forwards usage of a metered feature to the processor in the
    /// background: the local record is the truth, the processor's meter
    /// deduplicates by (tenant, `idempotency_key`), and a slow processor
    /// must not delay a chat answer or a usage report.
    pub(super) fn report_metered(
        &self,
        tenant: TenantId,
        metered: &Metered,
        feature_key: &str,
        quantity: i64,
        idempotency_key: String,
        at: OffsetDateTime,
    ) {
        let Some(customer) = metered.customer.clone() else {
            return;
        };
        if !metered.features.iter().any(|f| f == feature_key) {
            return;
        }
        let gateway = self.gateway.clone();
        let event = MeterEvent {
            tenant_id: tenant,
            customer_id: customer,
            feature_key: feature_key.to_owned(),
            quantity,
            idempotency_key,
            at,
        };
        tokio::spawn(async move {
            let feature = event.feature_key.clone();
            if let Err(error) = gateway.report_usage(event).await {
                tracing::warn!(%tenant, feature, %error, "metered usage not reported to the processor");
            }
        });
    }
}

/// Where metered usage of a tenant goes: the processor's customer (when
/// the configured processor manages the subscription) and the metered keys.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Metered {
    /// The processor's customer id.
    pub customer: Option<String>,
    /// Keys of the plan's metered features.
    pub features: Vec<String>,
}

impl Metered {
    /// What to meter for this subscription and plan under `processor`.
    pub fn of(subscription: Option<&Subscription>, plan: Option<&Plan>, processor: &str) -> Self {
        let customer = subscription
            .filter(|s| s.processor.as_deref() == Some(processor))
            .and_then(|s| s.processor_customer_id.clone());
        let features = plan
            .map(|p| {
                p.features
                    .iter()
                    .filter(|f| f.is_metered)
                    .map(|f| f.key.clone())
                    .collect()
            })
            .unwrap_or_default();
        Self { customer, features }
    }
}
