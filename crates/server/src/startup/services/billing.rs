//! Billing wiring: plans synced from `[plans.*]`, the Stripe gateway when
//! `STRIPE_SECRET_KEY` is set (else `local`), the webhook verifier when
//! `STRIPE_WEBHOOK_SECRET` is set, and the turn guard chat runs behind.

use std::sync::Arc;

use agents_adapters::payments::{LocalGateway, StripeConfig, StripeGateway, StripeWebhookVerifier};
use agents_application::billing::{BillingService, BillingSettings, BillingTurnGuard, PlanConfig};
use agents_application::chat::TurnGuard;
use agents_domain::billing::{PaymentGateway, PlanFeature};
use agents_domain::clock::Clock;

use super::super::{StartupError, stores::Stores};
use crate::config::Settings;

fn plan_configs(settings: &Settings) -> Vec<PlanConfig> {
    settings
        .plans
        .iter()
        .map(|(code, plan)| PlanConfig {
            code: code.clone(),
            stripe_price_id: plan.stripe_price_id.clone(),
            features: plan
                .features
                .iter()
                .map(|(key, f)| PlanFeature {
                    key: key.clone(),
                    display_name: f.display_name.clone(),
                    description: f.description.clone(),
                    hard_limit: f.hard_limit,
                    soft_limit: f.soft_limit,
                    is_metered: f.is_metered,
                })
                .collect(),
        })
        .collect()
}

fn gateway(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn PaymentGateway>, StartupError> {
    match &settings.stripe_secret_key {
        Some(key) => {
            let config = StripeConfig::new(settings.stripe_base_url.clone(), key.expose());
            let stripe = StripeGateway::new(config)
                .map_err(|e| StartupError::Config(format!("Stripe gateway: {e}")))?;
            Ok(Arc::new(stripe))
        }
        None => Ok(Arc::new(LocalGateway::new(clock))),
    }
}

/// The billing service when `ENABLE_BILLING=true`, with plans synced from
/// the configuration; `None` otherwise (no routes, no metering, no quota).
pub async fn billing_service(
    settings: &Settings,
    stores: &Stores,
    clock: Arc<dyn Clock>,
) -> Result<Option<Arc<BillingService>>, StartupError> {
    if !settings.enable_billing {
        return Ok(None);
    }
    let gateway = gateway(settings, clock.clone())?;
    let mut service = BillingService::new(
        stores.billing.clone(),
        gateway,
        clock,
        BillingSettings {
            default_plan: settings.default_plan.clone(),
        },
    );
    match &settings.stripe_webhook_secret {
        Some(secret) => {
            service = service.with_webhooks(Arc::new(StripeWebhookVerifier::new(secret.expose())));
        }
        // Only reachable with the local gateway: configuration refuses the
        // Stripe gateway without a webhook secret.
        None => tracing::warn!("STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks will be refused"),
    }
    service
        .sync_plans(plan_configs(settings))
        .await
        .map_err(|e| {
            StartupError::Config(format!(
                "billing plans (check [plans.*] and DEFAULT_PLAN): {e}"
            ))
        })?;
    tracing::info!(processor = service.processor(), default_plan = %settings.default_plan, "billing enabled");
    Ok(Some(Arc::new(service)))
}

/// The guard that checks and counts each chat turn against the plan.
pub fn billing_turn_guard(service: &Arc<BillingService>) -> Arc<dyn TurnGuard> {
    Arc::new(BillingTurnGuard::new(service.clone()))
}
