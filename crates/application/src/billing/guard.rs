//! Plan limits on chat turns: one `messages` unit is consumed atomically
//! when a turn starts (and given back if it fails), the `tokens` left in
//! the window cap what the model may generate (a turn is refused when none
//! are left), usage is recorded when it ends, and plan toggles switch tools
//! off. Everything counts in the tenant's quota window.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use agents_domain::TenantId;
use agents_domain::billing::{Period, PlanFeature, QuotaDecision, UsageReport};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::usage::Metered;
use super::{BillingService, BillingServiceError};
use crate::chat::{Admission, TurnGuard, TurnOutcome, TurnPermit, TurnRefused};

/// The feature a chat turn consumes one unit of.
pub const MESSAGES: &str = "messages";
/// The feature a chat turn's model tokens count against.
pub const TOKENS: &str = "tokens";
/// The tool a plan with `enable_web_search = false` loses.
const WEB_SEARCH_TOOL: &str = "tavily_search";

/// The [`TurnGuard`] of billing: quota before, metering after.
#[derive(Clone)]
pub struct BillingTurnGuard {
    service: Arc<BillingService>,
}

impl BillingTurnGuard {
    /// A guard over `service`'s store, gateway and clock.
    pub fn new(service: Arc<BillingService>) -> Self {
        Self { service }
    }
}

/// What `before_turn` hands to `after_turn` through the opaque permit.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Reservation {
    turn: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    end: OffsetDateTime,
    metered: Metered,
}

impl Reservation {
    fn period(&self) -> Period {
        Period {
            start: self.start,
            end: self.end,
        }
    }
}

fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> TurnRefused {
    TurnRefused::Unavailable(crate::cause::Cause::new(err))
}

fn refused(limit: i64, feature: &str, period: Period, now: OffsetDateTime) -> TurnRefused {
    let wait = (period.end - now).whole_seconds().max(1);
    TurnRefused::QuotaExceeded {
        message: format!(
            "This tenant's plan allows {limit} {feature} per billing period and they are used up; \
             upgrade the plan or wait for the next period."
        ),
        retry_after: Some(Duration::from_secs(u64::try_from(wait).unwrap_or(1))),
    }
}

fn limit(feature: Option<&PlanFeature>) -> Option<i64> {
    feature.and_then(|f| f.hard_limit)
}

#[async_trait]
impl TurnGuard for BillingTurnGuard {
    async fn admit(&self, tenant: TenantId) -> Result<Admission, TurnRefused> {
        let (subscription, plan) = self
            .service
            .plan_in_force(tenant)
            .await
            .map_err(unavailable)?;
        let plan_code = subscription.as_ref().map_or_else(
            || self.service.settings.default_plan.clone(),
            |s| s.plan_code.clone(),
        );
        Ok(Admission {
            plan_code: Some(plan_code),
            subscription,
            plan,
        })
    }

    async fn before_turn(
        &self,
        tenant: TenantId,
        admission: Admission,
    ) -> Result<TurnPermit, TurnRefused> {
        let service = &self.service;
        let now = service.clock.now();
        let Admission {
            subscription, plan, ..
        } = admission;
        let period = service
            .window(tenant, subscription.as_ref(), now)
            .await
            .map_err(unavailable)?;
        let messages = plan.as_ref().and_then(|p| p.feature(MESSAGES));
        let tokens = plan.as_ref().and_then(|p| p.feature(TOKENS));
        // Tokens are only known after the turn: the model is asked for at
        // most what is left, and nothing left refuses the turn.
        let mut max_tokens = None;
        if let Some(token_limit) = limit(tokens) {
            let used = service
                .store
                .quota_used(tenant, TOKENS, period)
                .await
                .map_err(unavailable)?;
            let left = token_limit.saturating_sub(used);
            if left <= 0 {
                tracing::info!(%tenant, limit = token_limit, "chat refused: tokens limit reached");
                return Err(refused(token_limit, TOKENS, period, now));
            }
            max_tokens = Some(u32::try_from(left).unwrap_or(u32::MAX));
        }
        let decision = service
            .store
            .consume_quota(tenant, MESSAGES, period, 1, limit(messages))
            .await
            .map_err(unavailable)?;
        match decision {
            QuotaDecision::Exceeded { limit } => {
                tracing::info!(%tenant, limit, "chat refused: messages limit reached");
                return Err(refused(limit, MESSAGES, period, now));
            }
            QuotaDecision::Granted { used } => {
                if let Some(soft) = messages.and_then(|f| f.soft_limit)
                    && used - 1 < soft
                    && soft <= used
                {
                    tracing::warn!(%tenant, used, soft_limit = soft, feature = MESSAGES, "soft limit crossed");
                }
            }
        }
        let mut disabled_tools = BTreeSet::new();
        if plan
            .as_ref()
            .is_some_and(|p| !p.toggle("enable_web_search", true))
        {
            disabled_tools.insert(WEB_SEARCH_TOOL.to_owned());
        }
        let reservation = Reservation {
            turn: uuid::Uuid::new_v4(),
            start: period.start,
            end: period.end,
            metered: Metered::of(subscription.as_ref(), plan.as_ref(), service.gateway.name()),
        };
        Ok(TurnPermit {
            disabled_tools,
            max_tokens,
            reservation: serde_json::to_string(&reservation).ok(),
        })
    }

    async fn after_turn(&self, tenant: TenantId, permit: TurnPermit, outcome: TurnOutcome) {
        let Some(reservation) = permit
            .reservation
            .as_deref()
            .and_then(|r| serde_json::from_str::<Reservation>(r).ok())
        else {
            tracing::error!(%tenant, "chat turn ended without a readable billing reservation");
            return;
        };
        let service = &self.service;
        let period = reservation.period();
        if outcome.succeeded {
            self.record(tenant, &reservation, MESSAGES, 1).await;
        } else if let Err(error) = service
            .store
            .release_quota(tenant, MESSAGES, period, 1)
            .await
        {
            tracing::error!(%tenant, %error, "could not give back the message unit of a failed turn");
        }
        // The provider bills tokens of failed turns too, so they count.
        let tokens = i64::from(outcome.usage.total_tokens);
        if tokens > 0 {
            self.record(tenant, &reservation, TOKENS, tokens).await;
            if let Err(error) = service
                .store
                .consume_quota(tenant, TOKENS, period, tokens, None)
                .await
            {
                tracing::error!(%tenant, %error, "could not count the tokens of a turn");
            }
        }
    }
}

impl BillingTurnGuard {
    /// Records one feature's usage of a turn, once per turn and feature.
    async fn record(
        &self,
        tenant: TenantId,
        reservation: &Reservation,
        feature: &str,
        quantity: i64,
    ) {
        let service = &self.service;
        let key = format!("chat-{}-{feature}", reservation.turn);
        let now = service.clock.now();
        let report = UsageReport {
            tenant_id: tenant,
            feature_key: feature.to_owned(),
            quantity,
            idempotency_key: Some(key.clone()),
            period: reservation.period(),
            reported_at: now,
        };
        match service.store.record_usage(report).await {
            Ok(_) => {
                service.report_metered(tenant, &reservation.metered, feature, quantity, key, now)
            }
            Err(error) => {
                let error = BillingServiceError::from(error);
                tracing::error!(%tenant, feature, %error, "could not record chat usage");
            }
        }
    }
}
