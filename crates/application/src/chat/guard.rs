//! The hook billing plugs into: asked what applies to the tenant (its
//! plan, read once per turn), then before a turn is accepted, and told what
//! the turn consumed after it ends.

use std::collections::BTreeSet;
use std::time::Duration;

use agents_domain::TenantId;
use agents_domain::billing::{Plan, Subscription};
use agents_domain::llm::TokenUsage;
use async_trait::async_trait;

/// What applies to a tenant's turn, read once per turn by
/// [`TurnGuard::admit`]: the plan that sets its chat rate and quota.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admission {
    /// The code of the plan in force (`None` without billing).
    pub plan_code: Option<String>,
    /// The tenant's live subscription, when it has one.
    pub subscription: Option<Subscription>,
    /// The plan in force, when it is stored.
    pub plan: Option<Plan>,
}

/// Permission to run one turn, with the limits that apply to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnPermit {
    /// Tools this tenant may not use (e.g. `tavily_search` when the plan
    /// turns web search off).
    pub disabled_tools: BTreeSet<String>,
    /// Tokens the turn may still use (a plan's `tokens` budget left in the
    /// window): no model call of the turn is asked for more, and the turn
    /// stops once they are spent. `None`: no budget.
    pub max_tokens: Option<u32>,
    /// Opaque handle the guard gets back in `after_turn` (e.g. the usage
    /// record to give back when the turn fails).
    pub reservation: Option<String>,
}

/// Why a turn may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnRefused {
    /// A plan limit is reached (429 `quota_exceeded`).
    #[error("{message}")]
    QuotaExceeded {
        /// Which limit, for the client.
        message: String,
        /// When the limit resets, when known.
        retry_after: Option<Duration>,
    },
    /// The guard's own store did not answer (503).
    #[error("quota check unavailable: {0}")]
    Unavailable(#[source] crate::cause::Cause),
}

/// How an accepted turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnOutcome {
    /// Tokens the model used (also for failed turns, up to the failure).
    pub usage: TokenUsage,
    /// Whether an answer was produced and stored.
    pub succeeded: bool,
}

/// Checks and counts chat turns per tenant. `before_turn` runs before
/// anything is stored; every permit it grants is returned through exactly
/// one `after_turn`, including turns refused later (usage then zero).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TurnGuard: Send + Sync {
    /// Reads what applies to `tenant`'s turn (its plan); only
    /// [`TurnRefused::Unavailable`] when that cannot be read.
    async fn admit(&self, tenant: TenantId) -> Result<Admission, TurnRefused>;
    /// Accepts (and may count) a turn for `tenant` under `admission`, or
    /// refuses it.
    async fn before_turn(
        &self,
        tenant: TenantId,
        admission: Admission,
    ) -> Result<TurnPermit, TurnRefused>;
    /// Records how the turn ended. Failures here are the guard's to log:
    /// the answer has already been given.
    async fn after_turn(&self, tenant: TenantId, permit: TurnPermit, outcome: TurnOutcome);
}

/// The guard used without billing: allows everything, counts nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTurnGuard;

#[async_trait]
impl TurnGuard for NoTurnGuard {
    async fn admit(&self, _tenant: TenantId) -> Result<Admission, TurnRefused> {
        Ok(Admission::default())
    }
    async fn before_turn(
        &self,
        _tenant: TenantId,
        _admission: Admission,
    ) -> Result<TurnPermit, TurnRefused> {
        Ok(TurnPermit::default())
    }
    async fn after_turn(&self, _tenant: TenantId, _permit: TurnPermit, _outcome: TurnOutcome) {}
}
