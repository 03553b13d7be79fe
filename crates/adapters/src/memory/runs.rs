//! `RunStore` in memory: run rows behind one lock.

use std::collections::HashMap;
use std::sync::Mutex;

use agents_domain::conversation::ConversationKey;
use agents_domain::run::{NewRun, Run, RunOutcome, RunStatus, RunStore};
use agents_domain::{RunId, StoreError, TenantId};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;

/// Run rows in a map (lost on restart, like the rest of the in-memory state).
#[derive(Debug, Default)]
pub struct InMemoryRunStore {
    runs: Mutex<HashMap<RunId, Run>>,
}

impl InMemoryRunStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RunStore for InMemoryRunStore {
    async fn create(&self, run: NewRun) -> Result<(), StoreError> {
        let row = Run {
            id: run.id,
            tenant_id: run.tenant_id,
            user_id: Some(run.user_id),
            conversation: run.conversation,
            status: RunStatus::Running,
            agent_used: run.agent,
            started_at: run.started_at,
            finished_at: None,
            last_event_id: 0,
            error: None,
            owner: run.owner,
            lease_until: run.lease_until,
        };
        let mut runs = lock(&self.runs);
        if runs.contains_key(&row.id) {
            return Err(StoreError::other("run id already stored"));
        }
        runs.insert(row.id, row);
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: RunId) -> Result<Option<Run>, StoreError> {
        Ok(lock(&self.runs)
            .get(&id)
            .filter(|run| run.tenant_id == tenant)
            .cloned())
    }

    async fn active_for(
        &self,
        tenant: TenantId,
        conversation: &ConversationKey,
        now: OffsetDateTime,
    ) -> Result<Option<Run>, StoreError> {
        Ok(lock(&self.runs)
            .values()
            .filter(|run| {
                run.tenant_id == tenant
                    && &run.conversation == conversation
                    && run.status_at(now) == RunStatus::Running
            })
            .max_by_key(|run| run.started_at)
            .cloned())
    }

    async fn renew(
        &self,
        owner: &str,
        ids: &[RunId],
        lease_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut runs = lock(&self.runs);
        for id in ids {
            if let Some(run) = runs.get_mut(id)
                && run.owner == owner
                && run.status == RunStatus::Running
            {
                run.lease_until = lease_until;
            }
        }
        Ok(())
    }

    async fn finish(
        &self,
        tenant: TenantId,
        id: RunId,
        outcome: RunOutcome,
    ) -> Result<bool, StoreError> {
        let mut runs = lock(&self.runs);
        let Some(run) = runs
            .get_mut(&id)
            .filter(|run| run.tenant_id == tenant && run.status == RunStatus::Running)
        else {
            return Ok(false);
        };
        run.status = outcome.status;
        run.agent_used = outcome.agent_used;
        run.last_event_id = outcome.last_event_id;
        run.error = outcome.error;
        run.finished_at = Some(outcome.finished_at);
        Ok(true)
    }
}
