//! Changing and cancelling a subscription. The processor is asked first;
//! the row is then written conditionally on the version read. When a
//! webhook or another request wrote it in between, the row is read again
//! and this request's own fields are applied to it (never a stale whole
//! row over someone else's change), a few times, then 409.

use agents_domain::billing::{
    BillingError, GatewaySubscription, Subscription, SubscriptionChange, SubscriptionStatus,
};

use super::subscriptions::{checked, email, overlay, seats};
use super::{BillingService, BillingServiceError, SubscriptionPatch, managing};
use crate::accounts::Caller;

/// Reads and conditional writes of one change before giving up with 409.
pub(super) const WRITE_ATTEMPTS: usize = 5;

impl BillingService {
    /// Writes `change(row, first)` to the subscription, re-reading it and
    /// applying the change again when its version moved on. `first` is
    /// true only on the row read before the processor was asked, the one
    /// its answer may be overlaid on.
    pub(super) async fn save_changed(
        &self,
        mut row: Subscription,
        change: impl Fn(&mut Subscription, bool),
    ) -> Result<Subscription, BillingServiceError> {
        for attempt in 0..WRITE_ATTEMPTS {
            change(&mut row, attempt == 0);
            match self.store.update_subscription(row.clone()).await {
                Ok(saved) => return Ok(saved),
                Err(BillingError::VersionConflict) => {
                    row = self
                        .store
                        .subscription(row.tenant_id, row.id)
                        .await?
                        .ok_or(BillingServiceError::SubscriptionNotFound)?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        tracing::warn!(subscription = %row.id, "subscription kept changing under a request");
        Err(BillingServiceError::Conflict)
    }

    /// Sends `change` to the processor when it manages the subscription.
    async fn push_change(
        &self,
        subscription: &Subscription,
        change: SubscriptionChange,
    ) -> Result<Option<GatewaySubscription>, BillingServiceError> {
        let Some(remote_id) = self.remote_id(subscription)? else {
            return Ok(None);
        };
        Ok(Some(
            self.gateway.update_subscription(&remote_id, change).await?,
        ))
    }

    /// The processor's id of the subscription, when the processor manages
    /// it; an error when that processor is not the configured one.
    fn remote_id(
        &self,
        subscription: &Subscription,
    ) -> Result<Option<String>, BillingServiceError> {
        let Some(id) = subscription.processor_subscription_id.clone() else {
            return Ok(None);
        };
        let processor = subscription.processor.clone().unwrap_or_default();
        if processor != self.gateway.name() {
            return Err(BillingServiceError::ProcessorNotConfigured(processor));
        }
        Ok(Some(id))
    }

    /// Changes plan, renewal, billing email or seats (owner/admin).
    pub async fn update_subscription(
        &self,
        caller: &Caller,
        patch: SubscriptionPatch,
    ) -> Result<Subscription, BillingServiceError> {
        managing(caller)?;
        if patch == SubscriptionPatch::default() {
            return Err(BillingServiceError::EmptyUpdate);
        }
        let mut errors = Vec::new();
        let billing_email = email(patch.billing_email.as_deref(), &mut errors);
        let seat_count = seats(patch.seat_count, &mut errors);
        checked((), errors)?;
        let current = self.subscription(caller).await?;
        let plan = match &patch.plan_code {
            Some(code) => Some(
                self.store
                    .plan(code)
                    .await?
                    .filter(|p| p.is_active)
                    .ok_or_else(|| BillingServiceError::PlanNotFound(code.clone()))?,
            ),
            None => None,
        };
        let change = SubscriptionChange {
            price_id: plan.as_ref().and_then(|p| p.stripe_price_id.clone()),
            seat_count,
            // Not renewing is what the processor calls cancelling at period end.
            cancel_at_period_end: patch.auto_renew.map(|renew| !renew),
        };
        let remote = if change == SubscriptionChange::default() {
            None
        } else {
            self.push_change(&current, change).await?
        };
        let now = self.clock.now();
        self.save_changed(current, |s, first| {
            if let (true, Some(remote)) = (first, &remote) {
                overlay(s, remote);
            }
            if let Some(plan) = &plan {
                s.plan_id = plan.id;
                s.plan_code = plan.code.clone();
            }
            if let Some(renew) = patch.auto_renew {
                s.auto_renew = renew;
            }
            if billing_email.is_some() {
                s.billing_email = billing_email.clone();
            }
            if seat_count.is_some() {
                s.seat_count = seat_count;
            }
            s.updated_at = now;
        })
        .await
    }

    /// Cancels now (`canceled` at once) or at the period end (status kept,
    /// `cancel_at` set) (owner/admin).
    pub async fn cancel_subscription(
        &self,
        caller: &Caller,
        at_period_end: bool,
    ) -> Result<Subscription, BillingServiceError> {
        managing(caller)?;
        let current = self.subscription(caller).await?;
        let now = self.clock.now();
        if at_period_end {
            let change = SubscriptionChange {
                cancel_at_period_end: Some(true),
                ..SubscriptionChange::default()
            };
            let remote = self.push_change(&current, change).await?;
            return self
                .save_changed(current, |s, first| {
                    if let (true, Some(remote)) = (first, &remote) {
                        overlay(s, remote);
                    }
                    s.cancel_at = s.cancel_at.or(s.current_period_end).or(Some(now));
                    s.updated_at = now;
                })
                .await;
        }
        let remote = match self.remote_id(&current)? {
            Some(remote_id) => Some(self.gateway.cancel_subscription(&remote_id).await?),
            None => None,
        };
        self.save_changed(current, |s, first| {
            if let (true, Some(remote)) = (first, &remote) {
                overlay(s, remote);
            }
            s.status = SubscriptionStatus::Canceled;
            s.cancel_at = Some(now);
            s.updated_at = now;
        })
        .await
    }
}
