//! Listing plans and syncing them from configuration at start.

use agents_domain::billing::{Plan, PlanFeature};

use super::{BillingService, BillingServiceError};

/// A plan as the configuration declares it (`[plans.CODE]`): the price id
/// and the features whose limits it sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanConfig {
    /// The plan's code; it must already exist (seeded or stored).
    pub code: String,
    /// The processor's price id; `None` keeps the stored one.
    pub stripe_price_id: Option<String>,
    /// Features to create or update, by key; unlisted features are kept.
    pub features: Vec<PlanFeature>,
}

impl BillingService {
    /// Every plan with its features, sorted by code.
    pub async fn plans(&self) -> Result<Vec<Plan>, BillingServiceError> {
        let mut plans = self.store.plans().await?;
        plans.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(plans)
    }

    /// Applies the configured plans to the store (run at start). A code the
    /// store does not know is an error: a typo must not go unnoticed, and
    /// the configuration carries no price to create a plan from. The default
    /// plan must exist too, or tenants without a subscription have none.
    pub async fn sync_plans(&self, configs: Vec<PlanConfig>) -> Result<(), BillingServiceError> {
        for config in configs {
            let mut plan = self
                .store
                .plan(&config.code)
                .await?
                .ok_or_else(|| BillingServiceError::PlanNotFound(config.code.clone()))?;
            if config.stripe_price_id.is_some() {
                plan.stripe_price_id = config.stripe_price_id;
            }
            // The store merges features by key; send only the configured
            // ones, keeping stored names where the configuration has none.
            plan.features = config
                .features
                .into_iter()
                .map(|f| match plan.feature(&f.key) {
                    Some(stored) => PlanFeature {
                        display_name: f.display_name.or_else(|| stored.display_name.clone()),
                        description: f.description.or_else(|| stored.description.clone()),
                        ..f
                    },
                    None => f,
                })
                .collect();
            self.store.upsert_plan(plan).await?;
        }
        let default = &self.settings.default_plan;
        if self.store.plan(default).await?.is_none() {
            return Err(BillingServiceError::PlanNotFound(default.clone()));
        }
        Ok(())
    }
}
