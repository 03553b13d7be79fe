//! `RunStore` on sea-orm: the `agent_runs` table, plus the Python column
//! `agent_conversations.last_run_id` kept pointing at a conversation's
//! newest run.

use agents_domain::conversation::ConversationKey;
use agents_domain::run::{NewRun, Run, RunOutcome, RunStatus, RunStore};
use agents_domain::{RunId, StoreError, TenantId, UserId};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DbBackend, QueryResult, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::support::{begin_write, commit, exec, get, one, stmt, ts, uuid};

const COLUMNS: &str = "id, tenant_id, user_id, conversation_key, status, agent_used, started_at, \
     finished_at, last_event_id, error, owner, lease_until";

/// Runs renewed per statement.
const RENEW_CHUNK: usize = 500;

/// Run rows in `agent_runs`.
#[derive(Debug, Clone)]
pub struct SeaOrmRunStore {
    db: DatabaseConnection,
}

impl SeaOrmRunStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

fn row_to_run(row: &QueryResult) -> Result<Run, StoreError> {
    let last_event_id: i64 = get(row, "last_event_id")?;
    Ok(Run {
        id: RunId::from_uuid(get(row, "id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        user_id: get::<Option<Uuid>>(row, "user_id")?.map(UserId::from_uuid),
        conversation: ConversationKey::from_stored(get(row, "conversation_key")?),
        status: RunStatus::from_stored(&get::<String>(row, "status")?),
        agent_used: get(row, "agent_used")?,
        started_at: get(row, "started_at")?,
        finished_at: get(row, "finished_at")?,
        last_event_id: u64::try_from(last_event_id).unwrap_or(0),
        error: get(row, "error")?,
        owner: get(row, "owner")?,
        lease_until: get(row, "lease_until")?,
    })
}

fn id_i64(id: u64) -> Value {
    Value::BigInt(Some(i64::try_from(id).unwrap_or(i64::MAX)))
}

#[async_trait]
impl RunStore for SeaOrmRunStore {
    async fn create(&self, run: NewRun) -> Result<(), StoreError> {
        let b = self.backend();
        let txn = begin_write(&self.db).await?;
        exec(
            &txn,
            stmt(
                b,
                "INSERT INTO agent_runs (id, tenant_id, user_id, conversation_key, status, agent_used,
                     started_at, last_event_id, owner, lease_until)
                 VALUES ($1, $2, $3, $4, 'running', $5, $6, 0, $7, $8)",
                vec![
                    uuid(run.id.as_uuid()),
                    uuid(run.tenant_id.as_uuid()),
                    uuid(run.user_id.as_uuid()),
                    Value::from(run.conversation.as_str()),
                    Value::from(run.agent.as_str()),
                    ts(b, run.started_at),
                    Value::from(run.owner.as_str()),
                    ts(b, run.lease_until),
                ],
            ),
        )
        .await?;
        exec(
            &txn,
            stmt(
                b,
                "UPDATE agent_conversations SET last_run_id = $1
                 WHERE tenant_id = $2 AND conversation_key = $3",
                vec![
                    Value::from(run.id.to_string()),
                    uuid(run.tenant_id.as_uuid()),
                    Value::from(run.conversation.as_str()),
                ],
            ),
        )
        .await?;
        commit(txn).await
    }

    async fn get(&self, tenant: TenantId, id: RunId) -> Result<Option<Run>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM agent_runs WHERE id = $1 AND tenant_id = $2");
        let row = one(
            &self.db,
            stmt(
                self.backend(),
                &sql,
                vec![uuid(id.as_uuid()), uuid(tenant.as_uuid())],
            ),
        )
        .await?;
        row.as_ref().map(row_to_run).transpose()
    }

    async fn active_for(
        &self,
        tenant: TenantId,
        conversation: &ConversationKey,
        now: OffsetDateTime,
    ) -> Result<Option<Run>, StoreError> {
        let b = self.backend();
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_runs
             WHERE tenant_id = $1 AND conversation_key = $2 AND status = 'running'
               AND lease_until >= $3
             ORDER BY started_at DESC LIMIT 1"
        );
        let row = one(
            &self.db,
            stmt(
                b,
                &sql,
                vec![
                    uuid(tenant.as_uuid()),
                    Value::from(conversation.as_str()),
                    ts(b, now),
                ],
            ),
        )
        .await?;
        row.as_ref().map(row_to_run).transpose()
    }

    async fn renew(
        &self,
        owner: &str,
        ids: &[RunId],
        lease_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let b = self.backend();
        for chunk in ids.chunks(RENEW_CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE agent_runs SET lease_until = $1
                 WHERE owner = $2 AND status = 'running' AND id IN ({})",
                placeholders.join(", ")
            );
            let mut values = vec![ts(b, lease_until), Value::from(owner)];
            values.extend(chunk.iter().map(|id| uuid(id.as_uuid())));
            exec(&self.db, stmt(b, &sql, values)).await?;
        }
        Ok(())
    }

    async fn finish(
        &self,
        tenant: TenantId,
        id: RunId,
        outcome: RunOutcome,
    ) -> Result<bool, StoreError> {
        let b = self.backend();
        let changed = exec(
            &self.db,
            stmt(
                b,
                "UPDATE agent_runs SET status = $3, agent_used = $4, last_event_id = $5,
                     error = $6, finished_at = $7
                 WHERE id = $1 AND tenant_id = $2 AND status = 'running'",
                vec![
                    uuid(id.as_uuid()),
                    uuid(tenant.as_uuid()),
                    Value::from(outcome.status.as_str()),
                    Value::from(outcome.agent_used.as_str()),
                    id_i64(outcome.last_event_id),
                    Value::String(outcome.error),
                    ts(b, outcome.finished_at),
                ],
            ),
        )
        .await?;
        Ok(changed > 0)
    }
}
