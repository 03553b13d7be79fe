//! Chat admission: the per-tenant chat rate (the plan's own when it sets
//! one, else `RATE_LIMIT_CHAT_PER_MINUTE`), counted in the limiter port so
//! every replica shares one budget when the limiter is Redis.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agents_domain::TenantId;
use agents_domain::limiter::{RateDecision, RateLimiter};

use super::ChatError;

/// Chat limits count requests per minute.
const WINDOW: Duration = Duration::from_secs(60);

/// Chat requests per minute per tenant; 0 turns a limit off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatRateLimits {
    /// For tenants whose plan sets none (`RATE_LIMIT_CHAT_PER_MINUTE`).
    pub per_minute: u32,
    /// By plan code (`[plans.X] chat_per_minute`), when billing is on.
    pub per_plan: BTreeMap<String, u32>,
}

/// The limits and the limiter that counts them.
#[derive(Clone)]
pub(super) struct ChatRate {
    limiter: Arc<dyn RateLimiter>,
    limits: ChatRateLimits,
}

impl ChatRate {
    pub(super) fn new(limiter: Arc<dyn RateLimiter>, limits: ChatRateLimits) -> Self {
        Self { limiter, limits }
    }

    /// Whether the tenant's plan must be known before counting.
    pub(super) fn depends_on_plan(&self) -> bool {
        !self.limits.per_plan.is_empty()
    }

    /// Counts one chat request of `tenant` (on plan `plan`) and refuses it
    /// past the limit. A failing limiter lets the request through (logged):
    /// an outage of Redis must not take chat down with it.
    pub(super) async fn check(
        &self,
        tenant: TenantId,
        plan: Option<&str>,
    ) -> Result<(), ChatError> {
        let limit = plan
            .and_then(|code| self.limits.per_plan.get(code).copied())
            .unwrap_or(self.limits.per_minute);
        if limit == 0 {
            return Ok(());
        }
        let key = format!("chat:{}", tenant.as_uuid());
        match self.limiter.hit(&key, limit, WINDOW).await {
            Ok(RateDecision::Allowed { .. }) => Ok(()),
            Ok(RateDecision::Limited { retry_after }) => {
                Err(ChatError::RateLimited { retry_after })
            }
            Err(error) => {
                tracing::warn!(%error, scope = "chat", "rate limiter failed; request let through");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use agents_adapters::limiter::InMemoryRateLimiter;
    use agents_domain::StoreError;
    use agents_domain::limiter::MockRateLimiter;

    use super::*;

    fn rate(per_minute: u32, per_plan: &[(&str, u32)]) -> ChatRate {
        let per_plan = per_plan
            .iter()
            .map(|(c, l)| ((*c).to_owned(), *l))
            .collect();
        ChatRate::new(
            Arc::new(InMemoryRateLimiter::new()),
            ChatRateLimits {
                per_minute,
                per_plan,
            },
        )
    }

    #[tokio::test]
    async fn chat_uses_the_plan_rate_when_there_is_one_and_each_tenant_has_its_own() {
        let rate = rate(100, &[("starter", 1), ("pro", 0)]);
        let (a, b) = (TenantId::new(), TenantId::new());
        rate.check(a, Some("starter")).await.expect("first");
        let refused = rate.check(a, Some("starter")).await;
        assert!(
            matches!(refused, Err(ChatError::RateLimited { retry_after }) if retry_after <= WINDOW),
            "{refused:?}"
        );
        rate.check(b, Some("starter"))
            .await
            .expect("another tenant");
        for _ in 0..3 {
            rate.check(b, Some("pro"))
                .await
                .expect("0 = unlimited plan");
        }
        let default = TenantId::new();
        for _ in 0..100 {
            rate.check(default, Some("enterprise"))
                .await
                .expect("a plan without its own rate");
        }
        assert!(rate.check(default, None).await.is_err());
    }

    #[tokio::test]
    async fn a_limit_of_zero_never_asks_the_limiter() {
        // No expectations: any call on the mock would panic.
        let rate = ChatRate::new(Arc::new(MockRateLimiter::new()), ChatRateLimits::default());
        for _ in 0..5 {
            rate.check(TenantId::new(), None).await.expect("off");
        }
    }

    #[tokio::test]
    async fn a_failing_limiter_lets_the_chat_through() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .returning(|_, _, _| Err(StoreError::Unavailable("redis down".into())));
        let limits = ChatRateLimits {
            per_minute: 1,
            ..ChatRateLimits::default()
        };
        let rate = ChatRate::new(Arc::new(limiter), limits);
        rate.check(TenantId::new(), None).await.expect("fails open");
    }
}
