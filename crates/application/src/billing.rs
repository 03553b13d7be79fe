//! Billing use cases: plans, a tenant's subscription, usage metering, plan
//! limits on chat turns and the processor's webhooks. The payment gateway is
//! called before anything is stored, so a processor failure leaves no
//! half-written subscription.

mod changes;
mod error;
mod guard;
mod period;
mod plans;
mod subscriptions;
mod usage;
mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use agents_domain::TenantId;
use agents_domain::account::Role;
use agents_domain::billing::{
    BillingStore, PaymentGateway, Period, Plan, Subscription, WebhookVerifier,
};
use agents_domain::clock::Clock;

use crate::accounts::Caller;

pub use error::BillingServiceError;
pub use guard::BillingTurnGuard;
pub use period::calendar_month;
pub use plans::PlanConfig;
pub use subscriptions::{NewSubscription, SubscriptionPatch};
pub use usage::{FeatureUsage, UsageInput, UsageSummary};
pub use webhooks::{WebhookFailure, WebhookOutcome};

/// Billing policy knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// The plan of tenants without a live subscription (`DEFAULT_PLAN`).
    pub default_plan: String,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            default_plan: "starter".into(),
        }
    }
}

/// The billing use cases over the billing store and the payment gateway.
pub struct BillingService {
    store: Arc<dyn BillingStore>,
    gateway: Arc<dyn PaymentGateway>,
    webhooks: Option<Arc<dyn WebhookVerifier>>,
    clock: Arc<dyn Clock>,
    settings: BillingSettings,
}

impl BillingService {
    /// Wires the service; webhooks are refused until
    /// [`with_webhooks`](Self::with_webhooks) supplies a verifier.
    pub fn new(
        store: Arc<dyn BillingStore>,
        gateway: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        settings: BillingSettings,
    ) -> Self {
        Self {
            store,
            gateway,
            webhooks: None,
            clock,
            settings,
        }
    }

    /// The same service accepting webhooks checked by `verifier`.
    pub fn with_webhooks(mut self, verifier: Arc<dyn WebhookVerifier>) -> Self {
        self.webhooks = Some(verifier);
        self
    }

    /// The name of the payment processor in use (`local`, `stripe`).
    pub fn processor(&self) -> &'static str {
        self.gateway.name()
    }

    /// The code of the plan in force for `tenant`: its live subscription's
    /// plan, or `DEFAULT_PLAN` without one (one indexed read).
    pub async fn plan_code(&self, tenant: TenantId) -> Result<String, BillingServiceError> {
        let subscription = self.store.live_subscription(tenant).await?;
        Ok(subscription.map_or_else(|| self.settings.default_plan.clone(), |s| s.plan_code))
    }

    /// The tenant's live subscription and the plan in force: the
    /// subscription's plan, or `DEFAULT_PLAN` without one. `None` for the
    /// plan only when the default plan is missing from the store.
    async fn plan_in_force(
        &self,
        tenant: TenantId,
    ) -> Result<(Option<Subscription>, Option<Plan>), BillingServiceError> {
        let subscription = self.store.live_subscription(tenant).await?;
        let code = subscription
            .as_ref()
            .map_or(self.settings.default_plan.as_str(), |s| {
                s.plan_code.as_str()
            });
        let plan = self.store.plan(code).await?;
        Ok((subscription, plan))
    }

    /// The tenant's quota window in force at `now` (opened from the live
    /// subscription's current period, else the calendar month, by the rule
    /// of [`next_window`](agents_domain::billing::next_window)).
    async fn window(
        &self,
        tenant: TenantId,
        subscription: Option<&Subscription>,
        now: time::OffsetDateTime,
    ) -> Result<Period, BillingServiceError> {
        let candidate = period::current_period(subscription, now);
        Ok(self.store.quota_window(tenant, now, candidate).await?)
    }
}

/// The tenant the caller acts in, and their role there.
fn acting(caller: &Caller) -> Result<(TenantId, Role), BillingServiceError> {
    caller
        .tenant
        .as_ref()
        .map(|(tenant, role)| (tenant.id, *role))
        .ok_or(BillingServiceError::Forbidden)
}

/// The tenant, when the caller may change its billing (owner or admin).
fn managing(caller: &Caller) -> Result<TenantId, BillingServiceError> {
    match acting(caller)? {
        (tenant, role) if role.can_manage() => Ok(tenant),
        _ => Err(BillingServiceError::Forbidden),
    }
}
