//! `ConversationStore` on sea-orm. Appends lock the conversation row with an
//! atomic `UPDATE ... RETURNING` (Postgres row lock; SQLite's write lock
//! under `BEGIN IMMEDIATE`), which is what makes positions gap-free, and
//! skip a message its run already stored, which makes retrying them safe.

mod listing;

use agents_domain::TenantId;
use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, NewMessage,
    Page, PageRequest, StoredMessage,
};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, Value};
use uuid::Uuid;

use super::rows::{self, CONVERSATION_COLUMNS, MESSAGE_COLUMNS};
use super::support::{all, commit, exec, get, one, opt_str, stmt, transact, ts, uuid};

/// Conversations and messages in the Python service's tables.
#[derive(Debug, Clone)]
pub struct SeaOrmConversationStore {
    db: DatabaseConnection,
}

impl SeaOrmConversationStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// The visibility rule, in the query: an API key's own rows for a key;
/// else the caller's own rows, plus rows without a user (the Python
/// service's and the keys') for owners and admins. `user` is the parameter
/// number of [`principal`]; `alias` the table alias (with its dot) or "".
pub(super) fn visible(alias: &str, user: usize, scope: &ConversationScope) -> String {
    if scope.api_key.is_some() {
        format!("{alias}api_key_id = ${user}")
    } else if scope.include_unowned {
        format!("({alias}user_id = ${user} OR {alias}user_id IS NULL)")
    } else {
        format!("{alias}user_id = ${user}")
    }
}

/// The value [`visible`] compares with: the key's id, else the user's.
pub(super) fn principal(scope: &ConversationScope) -> Value {
    match scope.api_key {
        Some(key) => uuid(key.as_uuid()),
        None => uuid(scope.user_id.as_uuid()),
    }
}

/// The parameters `$1` tenant, `$2` key, `$3` user that the keyed queries share.
fn keyed(scope: &ConversationScope, key: &ConversationKey) -> Vec<Value> {
    vec![
        uuid(scope.tenant_id.as_uuid()),
        Value::from(key.as_str()),
        principal(scope),
    ]
}

/// How far back an append looks for a message its run already stored:
/// a retried write lands within seconds, long before this many other
/// messages could join the conversation.
const RUN_LOOKBACK: i32 = 100;

/// What one append transaction did.
enum AppendOutcome {
    /// The message is stored (and committed).
    Appended(Appended),
    /// The run had already stored a message of this role (an earlier
    /// attempt whose answer was lost): nothing was written.
    AlreadyStored { position: i32 },
}

/// The append, in one transaction: create the conversation if new, lock
/// it while bumping its counters, then insert the message at the next
/// position, unless its run already stored one of the same role.
async fn append_in(
    txn: DatabaseTransaction,
    b: DbBackend,
    scope: ConversationScope,
    key: &ConversationKey,
    message: &NewMessage,
    update: &ConversationUpdate,
) -> Result<AppendOutcome, ConversationError> {
    // Concurrent creators never fail: the loser's insert does nothing and
    // both go on to the locking update.
    let initial_agent = update
        .active_agent
        .clone()
        .unwrap_or_else(|| update.entrypoint.clone());
    let inserted = exec(
        &txn,
        stmt(
            b,
            "INSERT INTO agent_conversations (id, conversation_key, tenant_id, user_id, agent_entrypoint,
                 active_agent, status, message_count, total_tokens_prompt, total_tokens_completion,
                 reasoning_tokens, handoff_count, created_at, updated_at, api_key_id)
             VALUES ($1, $2, $3, $4, $5, $6, 'active', 0, 0, 0, 0, 0, $7, $7, $8)
             ON CONFLICT (tenant_id, conversation_key) DO NOTHING",
            vec![
                uuid(Uuid::new_v4()),
                Value::from(key.as_str()),
                uuid(scope.tenant_id.as_uuid()),
                // A key's conversation belongs to the key, not to a user.
                match scope.api_key {
                    Some(_) => Value::Uuid(None),
                    None => uuid(scope.user_id.as_uuid()),
                },
                Value::from(update.entrypoint.as_str()),
                Value::from(initial_agent.as_str()),
                ts(b, message.created_at),
                match scope.api_key {
                    Some(key) => uuid(key.as_uuid()),
                    None => Value::Uuid(None),
                },
            ],
        ),
    )
    .await?;
    let mut values = keyed(&scope, key);
    values.extend([
        Value::from(update.add_prompt_tokens),
        Value::from(update.add_completion_tokens),
        Value::from(update.add_handoffs),
        opt_str(update.active_agent.as_deref()),
        ts(b, message.created_at),
    ]);
    let sql = format!(
        "UPDATE agent_conversations SET message_count = message_count + 1,
             total_tokens_prompt = total_tokens_prompt + $4,
             total_tokens_completion = total_tokens_completion + $5,
             handoff_count = handoff_count + $6,
             active_agent = COALESCE($7, active_agent),
             last_message_at = $8, updated_at = $8
         WHERE tenant_id = $1 AND conversation_key = $2 AND {}
         RETURNING {CONVERSATION_COLUMNS}",
        visible("", 3, &scope)
    );
    let Some(row) = one(&txn, stmt(b, &sql, values)).await? else {
        // The key exists in the tenant but belongs to someone else.
        return Err(ConversationError::NotFound);
    };
    let conversation = rows::conversation(&row)?;
    let position = conversation.message_count - 1;
    if let Some(run_id) = message.run_id.as_deref() {
        // Read after the update took the row lock, so an earlier attempt
        // still committing has finished and is seen here.
        let earlier = one(
            &txn,
            stmt(
                b,
                "SELECT position FROM agent_messages
                 WHERE conversation_id = $1 AND position >= $2 AND run_id = $3 AND role = $4
                 LIMIT 1",
                vec![
                    uuid(conversation.id),
                    Value::from(position - RUN_LOOKBACK),
                    Value::from(run_id),
                    Value::from(message.role.as_str()),
                ],
            ),
        )
        .await?;
        if let Some(row) = earlier {
            // Dropping the transaction rolls the counters back.
            return Ok(AppendOutcome::AlreadyStored {
                position: get(&row, "position")?,
            });
        }
    }
    exec(
        &txn,
        stmt(
            b,
            "INSERT INTO agent_messages (conversation_id, position, role, agent_type, content,
                 token_count_prompt, token_count_completion, latency_ms, run_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            vec![
                uuid(conversation.id),
                Value::from(position),
                Value::from(message.role.as_str()),
                opt_str(message.agent_type.as_deref()),
                Value::Json(Some(Box::new(message.content.to_json()))),
                Value::Int(message.token_count_prompt),
                Value::Int(message.token_count_completion),
                Value::Int(message.latency_ms),
                opt_str(message.run_id.as_deref()),
                ts(b, message.created_at),
            ],
        ),
    )
    .await?;
    commit(txn).await?;
    Ok(AppendOutcome::Appended(Appended {
        position,
        conversation,
        created: inserted == 1,
    }))
}

#[async_trait]
impl ConversationStore for SeaOrmConversationStore {
    async fn append(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError> {
        let b = self.backend();
        let (message, update) = (&message, &update);
        let outcome = transact(&self.db, |txn| async move {
            append_in(txn, b, scope, key, message, update).await
        })
        .await?;
        match outcome {
            AppendOutcome::Appended(appended) => Ok(appended),
            AppendOutcome::AlreadyStored { position } => {
                let conversation = self
                    .find(scope, key)
                    .await?
                    .ok_or(ConversationError::NotFound)?;
                Ok(Appended {
                    position,
                    conversation,
                    created: false,
                })
            }
        }
    }

    async fn find(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, ConversationError> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM agent_conversations
             WHERE tenant_id = $1 AND conversation_key = $2 AND {}",
            visible("", 3, &scope)
        );
        let row = one(&self.db, stmt(self.backend(), &sql, keyed(&scope, key))).await?;
        Ok(row.as_ref().map(rows::conversation).transpose()?)
    }

    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError> {
        // Newest first through the (conversation_id, position) index, then reversed.
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM agent_messages m
             JOIN agent_conversations c ON c.id = m.conversation_id
             WHERE c.tenant_id = $1 AND c.conversation_key = $2 AND {}
             ORDER BY m.position DESC LIMIT $4",
            visible("c.", 3, &scope)
        );
        let mut values = keyed(&scope, key);
        values.push(Value::from(i64::try_from(limit).unwrap_or(i64::MAX)));
        let rows = all(&self.db, stmt(self.backend(), &sql, values)).await?;
        let mut messages = rows
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }

    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError> {
        let Some(conversation) = self.find(scope, key).await? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM agent_messages m WHERE m.conversation_id = $1 ORDER BY m.position"
        );
        let rows = all(
            &self.db,
            stmt(self.backend(), &sql, vec![uuid(conversation.id)]),
        )
        .await?;
        let messages = rows
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((conversation, messages)))
    }

    async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError> {
        Ok(listing::list(&self.db, scope, page).await?)
    }

    async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError> {
        Ok(listing::search(&self.db, scope, query, limit).await?)
    }

    async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<bool, ConversationError> {
        // Messages go with the row (ON DELETE CASCADE, enforced on SQLite too).
        let sql = format!(
            "DELETE FROM agent_conversations WHERE tenant_id = $1 AND conversation_key = $2 AND {}",
            visible("", 3, &scope)
        );
        Ok(exec(&self.db, stmt(self.backend(), &sql, keyed(&scope, key))).await? > 0)
    }

    async fn agent_usage(
        &self,
        tenant: TenantId,
        agent: &str,
    ) -> Result<AgentUsage, ConversationError> {
        Ok(listing::agent_usage(&self.db, tenant, agent).await?)
    }
}
