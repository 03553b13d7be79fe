//! `BillingStore` in memory, seeded with the same `starter` and `pro` plans
//! as the migrations.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use agents_domain::billing::{
    BillingError, BillingStore, Invoice, Period, Plan, PlanFeature, QuotaDecision, Subscription,
    UsageRecorded, UsageReport, UsageTotal,
};
use agents_domain::{PlanId, TenantId};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;

#[derive(Debug, Default)]
struct State {
    plans: Vec<Plan>,
    subscriptions: Vec<Subscription>,
    usage: Vec<UsageReport>,
    counters: HashMap<(TenantId, String, OffsetDateTime), i64>,
    events: HashSet<String>,
    invoices: HashMap<String, Invoice>,
}

/// Plans, subscriptions, usage and processed events in memory.
#[derive(Debug)]
pub struct InMemoryBillingStore {
    state: Mutex<State>,
}

impl Default for InMemoryBillingStore {
    fn default() -> Self {
        Self::new()
    }
}

fn seeded_plan(code: &str, name: &str, price_cents: i32, seats: i32, web_search: bool) -> Plan {
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

impl InMemoryBillingStore {
    /// A store holding the seeded `starter` and `pro` plans.
    pub fn new() -> Self {
        let state = State {
            plans: vec![
                seeded_plan("pro", "Pro", 9900, 5, true),
                seeded_plan("starter", "Starter", 0, 1, false),
            ],
            ..State::default()
        };
        Self {
            state: Mutex::new(state),
        }
    }
}

impl State {
    /// Fills in the plan code the SQL store reads through its join.
    fn with_plan_code(&self, mut s: Subscription) -> Result<Subscription, BillingError> {
        let plan = self
            .plans
            .iter()
            .find(|p| p.id == s.plan_id)
            .ok_or(BillingError::NotFound)?;
        s.plan_code = plan.code.clone();
        Ok(s)
    }

    fn live_conflict(&self, s: &Subscription) -> bool {
        s.status.is_live()
            && self
                .subscriptions
                .iter()
                .any(|o| o.tenant_id == s.tenant_id && o.id != s.id && o.status.is_live())
    }
}

#[async_trait]
impl BillingStore for InMemoryBillingStore {
    async fn plans(&self) -> Result<Vec<Plan>, BillingError> {
        Ok(lock(&self.state).plans.clone())
    }

    async fn plan(&self, code: &str) -> Result<Option<Plan>, BillingError> {
        Ok(lock(&self.state)
            .plans
            .iter()
            .find(|p| p.code == code)
            .cloned())
    }

    async fn upsert_plan(&self, plan: Plan) -> Result<Plan, BillingError> {
        let mut state = lock(&self.state);
        let stored = match state.plans.iter_mut().find(|p| p.code == plan.code) {
            Some(existing) => {
                // Features are upserted by key; unlisted ones are kept, as in SQL.
                let mut features = existing.features.clone();
                for f in plan.features {
                    match features.iter_mut().find(|e| e.key == f.key) {
                        Some(e) => *e = f,
                        None => features.push(f),
                    }
                }
                features.sort_by(|a, b| a.key.cmp(&b.key));
                *existing = Plan {
                    id: existing.id,
                    features,
                    ..plan
                };
                existing.clone()
            }
            None => {
                let mut plan = plan;
                plan.features.sort_by(|a, b| a.key.cmp(&b.key));
                state.plans.push(plan.clone());
                state.plans.sort_by(|a, b| a.code.cmp(&b.code));
                plan
            }
        };
        Ok(stored)
    }

    async fn live_subscription(
        &self,
        tenant: TenantId,
    ) -> Result<Option<Subscription>, BillingError> {
        let state = lock(&self.state);
        Ok(state
            .subscriptions
            .iter()
            .find(|s| s.tenant_id == tenant && s.status.is_live())
            .cloned())
    }

    async fn create_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError> {
        let mut state = lock(&self.state);
        let subscription = state.with_plan_code(subscription)?;
        if state.live_conflict(&subscription) {
            return Err(BillingError::AlreadySubscribed);
        }
        state.subscriptions.push(subscription.clone());
        Ok(subscription)
    }

    async fn update_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError> {
        let mut state = lock(&self.state);
        let subscription = state.with_plan_code(subscription)?;
        if state.live_conflict(&subscription) {
            return Err(BillingError::AlreadySubscribed);
        }
        let slot = state
            .subscriptions
            .iter_mut()
            .find(|s| s.id == subscription.id)
            .ok_or(BillingError::NotFound)?;
        *slot = subscription.clone();
        Ok(subscription)
    }

    async fn subscription_by_processor_id(
        &self,
        processor_subscription_id: &str,
    ) -> Result<Option<Subscription>, BillingError> {
        let state = lock(&self.state);
        Ok(state
            .subscriptions
            .iter()
            .filter(|s| s.processor_subscription_id.as_deref() == Some(processor_subscription_id))
            .max_by_key(|s| s.created_at)
            .cloned())
    }

    async fn record_usage(&self, report: UsageReport) -> Result<UsageRecorded, BillingError> {
        let mut state = lock(&self.state);
        if let Some(key) = &report.idempotency_key
            && state
                .usage
                .iter()
                .any(|u| u.tenant_id == report.tenant_id && u.idempotency_key.as_ref() == Some(key))
        {
            return Ok(UsageRecorded::Duplicate);
        }
        state.usage.push(report);
        Ok(UsageRecorded::Recorded)
    }

    async fn usage_totals(
        &self,
        tenant: TenantId,
        period: Period,
    ) -> Result<Vec<UsageTotal>, BillingError> {
        let state = lock(&self.state);
        let mut totals: Vec<UsageTotal> = Vec::new();
        let within = state.usage.iter().filter(|u| {
            u.tenant_id == tenant && u.period.start >= period.start && u.period.start < period.end
        });
        for u in within {
            match totals.iter_mut().find(|t| t.feature_key == u.feature_key) {
                Some(t) => t.quantity += u.quantity,
                None => totals.push(UsageTotal {
                    feature_key: u.feature_key.clone(),
                    quantity: u.quantity,
                }),
            }
        }
        totals.sort_by(|a, b| a.feature_key.cmp(&b.feature_key));
        Ok(totals)
    }

    async fn consume_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
        hard_limit: Option<i64>,
    ) -> Result<QuotaDecision, BillingError> {
        let mut state = lock(&self.state);
        let used = state
            .counters
            .entry((tenant, feature_key.to_owned(), period.start))
            .or_insert(0);
        match hard_limit {
            Some(limit) if *used + quantity > limit => Ok(QuotaDecision::Exceeded { limit }),
            _ => {
                *used += quantity;
                Ok(QuotaDecision::Granted { used: *used })
            }
        }
    }

    async fn release_quota(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
        quantity: i64,
    ) -> Result<(), BillingError> {
        let mut state = lock(&self.state);
        if let Some(used) = state
            .counters
            .get_mut(&(tenant, feature_key.to_owned(), period.start))
        {
            *used = (*used - quantity).max(0);
        }
        Ok(())
    }

    async fn mark_event_processed(
        &self,
        event_id: &str,
        _at: OffsetDateTime,
    ) -> Result<bool, BillingError> {
        Ok(lock(&self.state).events.insert(event_id.to_owned()))
    }

    async fn upsert_invoice(&self, invoice: Invoice) -> Result<(), BillingError> {
        lock(&self.state)
            .invoices
            .insert(invoice.external_invoice_id.clone(), invoice);
        Ok(())
    }
}
