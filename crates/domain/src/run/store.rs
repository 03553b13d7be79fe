//! The run store port: one row per run (status, times, agent, last event
//! id, owner and lease).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{NewRun, Run, RunOutcome};
use crate::conversation::ConversationKey;
use crate::{RunId, StoreError, TenantId};

/// Run rows. Every read filters by tenant in the query itself.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Stores a new `running` run (and records it as the conversation's
    /// last run where the store keeps that).
    async fn create(&self, run: NewRun) -> Result<(), StoreError>;

    /// The run, `None` when absent or in another tenant.
    async fn get(&self, tenant: TenantId, id: RunId) -> Result<Option<Run>, StoreError>;

    /// The newest run of the conversation still `running` with a lease
    /// valid at `now`.
    async fn active_for(
        &self,
        tenant: TenantId,
        conversation: &ConversationKey,
        now: OffsetDateTime,
    ) -> Result<Option<Run>, StoreError>;

    /// Extends the lease of `owner`'s runs among `ids` that still run.
    /// Housekeeping of one process over its own runs, across tenants.
    async fn renew(
        &self,
        owner: &str,
        ids: &[RunId],
        lease_until: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Ends a `running` run; returns `false` (and changes nothing) when it
    /// had already ended.
    async fn finish(
        &self,
        tenant: TenantId,
        id: RunId,
        outcome: RunOutcome,
    ) -> Result<bool, StoreError>;
}
