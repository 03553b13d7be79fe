//! `BillingStore` in memory, seeded with the same `starter` and `pro` plans
//! as the migrations.

mod state;

use std::sync::Mutex;

use agents_domain::billing::{
    BillingAccount, BillingError, BillingStore, EventEffect, EventRecorded, Period, Plan,
    ProcessorCustomer, QuotaDecision, QuotaWindow, Subscription, UsageRecorded, UsageReport,
    UsageTotal, next_window,
};
use agents_domain::{SubscriptionId, TenantId};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;
use state::{State, seeded_plan};

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

    async fn subscription(
        &self,
        tenant: TenantId,
        id: SubscriptionId,
    ) -> Result<Option<Subscription>, BillingError> {
        let state = lock(&self.state);
        Ok(state
            .subscriptions
            .iter()
            .find(|s| s.tenant_id == tenant && s.id == id)
            .cloned())
    }

    async fn create_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError> {
        let mut state = lock(&self.state);
        let mut subscription = state.with_plan_code(subscription)?;
        if state.live_conflict(&subscription) {
            return Err(BillingError::AlreadySubscribed);
        }
        subscription.version = 0;
        if subscription.trial_ends_at.is_some() {
            state
                .tenants
                .entry(subscription.tenant_id)
                .or_default()
                .trial_used = true;
        }
        state.subscriptions.push(subscription.clone());
        Ok(subscription)
    }

    async fn update_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, BillingError> {
        let mut state = lock(&self.state);
        let (slot, saved) = state.checked_update(subscription)?;
        state.subscriptions[slot] = saved.clone();
        Ok(saved)
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

    async fn billing_account(&self, tenant: TenantId) -> Result<BillingAccount, BillingError> {
        let state = lock(&self.state);
        let stored = state.tenants.get(&tenant).cloned().unwrap_or_default();
        Ok(BillingAccount {
            customer: stored.customer,
            trial_used: stored.trial_used,
        })
    }

    async fn save_customer(
        &self,
        tenant: TenantId,
        customer: ProcessorCustomer,
    ) -> Result<ProcessorCustomer, BillingError> {
        let mut state = lock(&self.state);
        let stored = &mut state.tenants.entry(tenant).or_default().customer;
        match stored {
            Some(existing) if existing.processor == customer.processor => Ok(existing.clone()),
            _ => {
                *stored = Some(customer.clone());
                Ok(customer)
            }
        }
    }

    async fn quota_window(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        candidate: Period,
    ) -> Result<Period, BillingError> {
        let mut state = lock(&self.state);
        let stored = &mut state.tenants.entry(tenant).or_default().window;
        match (next_window(*stored, now, candidate), *stored) {
            (None, Some(window)) => Ok(window.period),
            (next, _) => {
                let next = next.unwrap_or(QuotaWindow {
                    anchor: candidate.start,
                    period: candidate,
                });
                *stored = Some(next);
                Ok(next.period)
            }
        }
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
        // Summed wide and clamped, as the SQL stores saturate.
        let mut sums: Vec<(String, i128)> = Vec::new();
        let within = state.usage.iter().filter(|u| {
            u.tenant_id == tenant && u.period.start >= period.start && u.period.start < period.end
        });
        for u in within {
            match sums.iter_mut().find(|(key, _)| *key == u.feature_key) {
                Some((_, sum)) => *sum += i128::from(u.quantity),
                None => sums.push((u.feature_key.clone(), i128::from(u.quantity))),
            }
        }
        let mut totals: Vec<UsageTotal> = sums
            .into_iter()
            .map(|(feature_key, sum)| UsageTotal {
                feature_key,
                quantity: i64::try_from(sum).unwrap_or(i64::MAX),
            })
            .collect();
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
            Some(limit) if quantity > limit || *used > limit - quantity => {
                Ok(QuotaDecision::Exceeded { limit })
            }
            _ => {
                *used = used.saturating_add(quantity);
                Ok(QuotaDecision::Granted { used: *used })
            }
        }
    }

    async fn quota_used(
        &self,
        tenant: TenantId,
        feature_key: &str,
        period: Period,
    ) -> Result<i64, BillingError> {
        let state = lock(&self.state);
        Ok(state
            .counters
            .get(&(tenant, feature_key.to_owned(), period.start))
            .copied()
            .unwrap_or(0))
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

    async fn apply_event(&self, effect: EventEffect) -> Result<EventRecorded, BillingError> {
        let mut state = lock(&self.state);
        if state.events.contains(&effect.event_id) {
            return Ok(EventRecorded::Duplicate);
        }
        // Every check before any change: all of it is stored or none.
        let update = effect
            .subscription
            .map(|s| state.checked_update(s))
            .transpose()?;
        if let Some(invoice) = &effect.invoice
            && !state
                .subscriptions
                .iter()
                .any(|s| s.id == invoice.subscription_id)
        {
            return Err(BillingError::NotFound);
        }
        state.events.insert(effect.event_id);
        if let Some((slot, saved)) = update {
            state.subscriptions[slot] = saved;
        }
        if let Some(invoice) = effect.invoice {
            state
                .invoices
                .insert(invoice.external_invoice_id.clone(), invoice);
        }
        Ok(EventRecorded::Applied)
    }
}
