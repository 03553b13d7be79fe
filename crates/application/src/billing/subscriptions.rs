//! A tenant's subscription: read, start, change, cancel. The processor is
//! asked first and the store written after, so a processor failure leaves
//! nothing behind; a store failure after a processor success is compensated.

use agents_domain::billing::{
    GatewaySubscription, NewGatewaySubscription, Subscription, SubscriptionChange,
    SubscriptionStatus,
};
use agents_domain::{FieldError, SubscriptionId};

use super::{BillingService, BillingServiceError, acting, managing};
use crate::accounts::Caller;

/// `POST .../subscription`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewSubscription {
    /// The plan to subscribe to.
    pub plan_code: String,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// Renew at period end (default true).
    pub auto_renew: Option<bool>,
    /// Seats (> 0); default the plan's included seats.
    pub seat_count: Option<i64>,
}

/// `PATCH .../subscription`: only the fields present change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubscriptionPatch {
    /// A new plan.
    pub plan_code: Option<String>,
    /// Renew at period end.
    pub auto_renew: Option<bool>,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// Seats (> 0).
    pub seat_count: Option<i64>,
}

fn email(value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value?.trim();
    let valid = value.len() <= 256
        && !value.chars().any(char::is_whitespace)
        && value.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.contains('@')
        });
    if !valid {
        errors.push(FieldError::new(
            "billing_email",
            "must be a valid email address",
        ));
    }
    Some(value.to_owned())
}

fn seats(value: Option<i64>, errors: &mut Vec<FieldError>) -> Option<i32> {
    let value = value?;
    match i32::try_from(value) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push(FieldError::new("seat_count", "must be greater than 0"));
            None
        }
    }
}

fn checked<T>(value: T, errors: Vec<FieldError>) -> Result<T, BillingServiceError> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(BillingServiceError::Invalid(errors))
    }
}

/// Copies what the processor reports onto the stored subscription.
fn overlay(subscription: &mut Subscription, remote: &GatewaySubscription) {
    subscription.status = remote.status;
    if remote.current_period_start.is_some() {
        subscription.current_period_start = remote.current_period_start;
    }
    if remote.current_period_end.is_some() {
        subscription.current_period_end = remote.current_period_end;
    }
    if remote.trial_ends_at.is_some() {
        subscription.trial_ends_at = remote.trial_ends_at;
    }
    subscription.cancel_at = remote.cancel_at.or(subscription.cancel_at);
}

impl BillingService {
    /// The caller's tenant's live subscription (any member).
    pub async fn subscription(&self, caller: &Caller) -> Result<Subscription, BillingServiceError> {
        let (tenant, _) = acting(caller)?;
        self.store
            .live_subscription(tenant)
            .await?
            .ok_or(BillingServiceError::SubscriptionNotFound)
    }

    /// Subscribes the caller's tenant to a plan (owner/admin).
    pub async fn start_subscription(
        &self,
        caller: &Caller,
        input: NewSubscription,
    ) -> Result<Subscription, BillingServiceError> {
        let tenant = managing(caller)?;
        let mut errors = Vec::new();
        let billing_email = email(input.billing_email.as_deref(), &mut errors);
        let seat_count = seats(input.seat_count, &mut errors);
        checked((), errors)?;
        let plan = self
            .store
            .plan(&input.plan_code)
            .await?
            .filter(|p| p.is_active)
            .ok_or_else(|| BillingServiceError::PlanNotFound(input.plan_code.clone()))?;
        // Checked here so a processor subscription is not created in vain;
        // the store's constraint still decides races (compensated below).
        if self.store.live_subscription(tenant).await?.is_some() {
            return Err(BillingServiceError::AlreadySubscribed);
        }
        let id = SubscriptionId::new();
        let seat_count = seat_count.or(plan.seat_included).unwrap_or(1);
        let remote = self
            .gateway
            .create_subscription(NewGatewaySubscription {
                tenant_id: tenant,
                billing_email: billing_email.clone(),
                plan_code: plan.code.clone(),
                price_id: plan.stripe_price_id.clone(),
                seat_count,
                trial_days: plan.trial_days,
                idempotency_key: format!("subscription-{id}"),
            })
            .await?;
        let now = self.clock.now();
        let subscription = Subscription {
            id,
            tenant_id: tenant,
            plan_id: plan.id,
            plan_code: plan.code.clone(),
            status: remote.status,
            auto_renew: input.auto_renew.unwrap_or(true),
            billing_email,
            processor: Some(remote.processor.clone()),
            processor_customer_id: remote.customer_id.clone(),
            processor_subscription_id: remote.subscription_id.clone(),
            starts_at: now,
            current_period_start: remote.current_period_start,
            current_period_end: remote.current_period_end,
            trial_ends_at: remote.trial_ends_at,
            cancel_at: remote.cancel_at,
            seat_count: Some(seat_count),
            metadata: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        };
        match self.store.create_subscription(subscription).await {
            Ok(stored) => Ok(stored),
            Err(err) => {
                self.compensate(&remote).await;
                Err(err.into())
            }
        }
    }

    /// Undoes a processor subscription whose local row could not be written.
    async fn compensate(&self, remote: &GatewaySubscription) {
        let Some(id) = remote.subscription_id.as_deref() else {
            return;
        };
        if let Err(error) = self.gateway.cancel_subscription(id).await {
            tracing::error!(processor = remote.processor, subscription = id, %error,
                "could not cancel a processor subscription left without a local row; cancel it by hand");
        }
    }

    /// Sends `change` to the processor when it manages the subscription.
    async fn push_change(
        &self,
        subscription: &mut Subscription,
        change: SubscriptionChange,
    ) -> Result<(), BillingServiceError> {
        let Some(remote_id) = self.remote_id(subscription)? else {
            return Ok(());
        };
        let remote = self.gateway.update_subscription(&remote_id, change).await?;
        overlay(subscription, &remote);
        Ok(())
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
        let mut subscription = self.subscription(caller).await?;
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
        if change != SubscriptionChange::default() {
            self.push_change(&mut subscription, change).await?;
        }
        if let Some(plan) = plan {
            subscription.plan_id = plan.id;
            subscription.plan_code = plan.code;
        }
        if let Some(renew) = patch.auto_renew {
            subscription.auto_renew = renew;
        }
        subscription.billing_email = billing_email.or(subscription.billing_email);
        subscription.seat_count = seat_count.or(subscription.seat_count);
        subscription.updated_at = self.clock.now();
        Ok(self.store.update_subscription(subscription).await?)
    }

    /// Cancels now (`canceled` at once) or at the period end (status kept,
    /// `cancel_at` set) (owner/admin).
    pub async fn cancel_subscription(
        &self,
        caller: &Caller,
        at_period_end: bool,
    ) -> Result<Subscription, BillingServiceError> {
        managing(caller)?;
        let mut subscription = self.subscription(caller).await?;
        let now = self.clock.now();
        if at_period_end {
            let change = SubscriptionChange {
                cancel_at_period_end: Some(true),
                ..SubscriptionChange::default()
            };
            self.push_change(&mut subscription, change).await?;
            subscription.cancel_at = subscription
                .cancel_at
                .or(subscription.current_period_end)
                .or(Some(now));
        } else {
            if let Some(remote_id) = self.remote_id(&subscription)? {
                let remote = self.gateway.cancel_subscription(&remote_id).await?;
                overlay(&mut subscription, &remote);
            }
            subscription.status = SubscriptionStatus::Canceled;
            subscription.cancel_at = Some(now);
        }
        subscription.updated_at = now;
        Ok(self.store.update_subscription(subscription).await?)
    }
}
