//! A tenant's subscription: read and start (changes and cancellation are in
//! `changes`). The processor is asked first and the store written after, so
//! a processor failure leaves nothing behind; a store failure after a
//! processor success is compensated. A tenant has one processor customer,
//! reused by every subscription, and one trial.

use agents_domain::billing::{
    BillingAccount, GatewaySubscription, NewCustomer, NewGatewaySubscription, ProcessorCustomer,
    Subscription,
};
use agents_domain::{FieldError, SubscriptionId, TenantId};

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

pub(super) fn email(value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
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

pub(super) fn seats(value: Option<i64>, errors: &mut Vec<FieldError>) -> Option<i32> {
    let value = value?;
    match i32::try_from(value) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push(FieldError::new("seat_count", "must be greater than 0"));
            None
        }
    }
}

pub(super) fn checked<T>(value: T, errors: Vec<FieldError>) -> Result<T, BillingServiceError> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(BillingServiceError::Invalid(errors))
    }
}

/// Copies what the processor reports onto the stored subscription.
pub(super) fn overlay(subscription: &mut Subscription, remote: &GatewaySubscription) {
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
        let account = self.store.billing_account(tenant).await?;
        let customer_id = self
            .customer(tenant, &account, billing_email.clone())
            .await?;
        // A tenant gets one trial, whatever the plan: the store marks it
        // used with the subscription that had it.
        let trial_days = if account.trial_used {
            None
        } else {
            plan.trial_days
        };
        let remote = self
            .gateway
            .create_subscription(NewGatewaySubscription {
                tenant_id: tenant,
                customer_id: customer_id.clone(),
                billing_email: billing_email.clone(),
                plan_code: plan.code.clone(),
                price_id: plan.stripe_price_id.clone(),
                seat_count,
                trial_days,
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
            processor_customer_id: remote.customer_id.clone().or(customer_id),
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
            version: 0,
            last_event_at: None,
        };
        match self.store.create_subscription(subscription).await {
            Ok(stored) => Ok(stored),
            Err(err) => {
                self.compensate(&remote).await;
                Err(err.into())
            }
        }
    }

    /// The tenant's customer at the configured processor: the stored one,
    /// else one created now and stored (the first stored wins a race; a
    /// customer created in vain is only logged). `None` for a processor
    /// without customers.
    async fn customer(
        &self,
        tenant: TenantId,
        account: &BillingAccount,
        billing_email: Option<String>,
    ) -> Result<Option<String>, BillingServiceError> {
        let processor = self.gateway.name();
        if let Some(stored) = account
            .customer
            .as_ref()
            .filter(|c| c.processor == processor)
        {
            return Ok(Some(stored.customer_id.clone()));
        }
        let request = NewCustomer {
            tenant_id: tenant,
            billing_email,
        };
        let Some(created) = self.gateway.create_customer(request).await? else {
            return Ok(None);
        };
        let customer = ProcessorCustomer {
            processor: processor.to_owned(),
            customer_id: created.clone(),
        };
        let stored = self.store.save_customer(tenant, customer).await?;
        if stored.customer_id != created {
            tracing::warn!(%tenant, processor, customer = created,
                "a concurrent request stored another customer for this tenant; this one is unused");
        }
        Ok(Some(stored.customer_id))
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
}
