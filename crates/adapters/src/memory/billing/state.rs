//! The in-memory billing state and the checks every write makes on it,
//! mirroring the SQL stores' constraints.

use std::collections::{HashMap, HashSet};

use agents_domain::billing::{
    BillingError, Invoice, Plan, PlanFeature, ProcessorCustomer, QuotaWindow, Subscription,
    UsageReport,
};
use agents_domain::{PlanId, TenantId};
use time::OffsetDateTime;

/// What the SQL stores keep in `tenant_billing`.
#[derive(Debug, Default, Clone)]
pub(super) struct TenantBilling {
    pub window: Option<QuotaWindow>,
    pub customer: Option<ProcessorCustomer>,
    pub trial_used: bool,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub(super) struct State {
    pub plans: Vec<Plan>,
    pub subscriptions: Vec<Subscription>,
    pub usage: Vec<UsageReport>,
    pub counters: HashMap<(TenantId, String, OffsetDateTime), i64>,
    pub events: HashSet<String>,
    pub invoices: HashMap<String, Invoice>,
    pub tenants: HashMap<TenantId, TenantBilling>,
}

/// A seeded plan, as the migrations insert it.
pub(super) fn seeded_plan(
    code: &str,
    name: &str,
    price_cents: i32,
    seats: i32,
    web_search: bool,
) -> Plan {
    let feature = |key: &str, display: &str| PlanFeature {
        key: key.to_owned(),
        display_name: Some(display.to_owned()),
        description: None,
        hard_limit: None,
        soft_limit: None,
        is_metered: false,
    };
    let mut toggles = serde_json::Map::new();
    toggles.insert(
        "enable_web_search".into(),
        serde_json::Value::Bool(web_search),
    );
    Plan {
        id: PlanId::new(),
        code: code.to_owned(),
        name: name.to_owned(),
        interval: "monthly".into(),
        interval_count: 1,
        price_cents,
        currency: "USD".into(),
        trial_days: Some(14),
        seat_included: Some(seats),
        feature_toggles: toggles,
        is_active: true,
        stripe_price_id: None,
        features: vec![feature("messages", "Messages"), feature("tokens", "Tokens")],
    }
}

impl State {
    /// Fills in the plan code the SQL store reads through its join.
    pub fn with_plan_code(&self, mut s: Subscription) -> Result<Subscription, BillingError> {
        let plan = self
            .plans
            .iter()
            .find(|p| p.id == s.plan_id)
            .ok_or(BillingError::NotFound)?;
        s.plan_code = plan.code.clone();
        Ok(s)
    }

    /// The conditional write of `update_subscription`, also used inside
    /// `apply_event` (checked before anything is changed).
    pub fn checked_update(&self, s: Subscription) -> Result<(usize, Subscription), BillingError> {
        let mut s = self.with_plan_code(s)?;
        let slot = self
            .subscriptions
            .iter()
            .position(|o| o.id == s.id && o.tenant_id == s.tenant_id)
            .ok_or(BillingError::NotFound)?;
        if self.subscriptions[slot].version != s.version {
            return Err(BillingError::VersionConflict);
        }
        if self.live_conflict(&s) {
            return Err(BillingError::AlreadySubscribed);
        }
        s.version += 1;
        Ok((slot, s))
    }

    pub fn live_conflict(&self, s: &Subscription) -> bool {
        s.status.is_live()
            && self
                .subscriptions
                .iter()
                .any(|o| o.tenant_id == s.tenant_id && o.id != s.id && o.status.is_live())
    }
}
