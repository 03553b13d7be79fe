//! `ApiKeyStore` on sea-orm: keys found by their unique prefix joined with
//! their tenant in one query; monthly counters bumped by one conditional
//! `UPDATE`, which is what makes a budget hold under concurrency.

use agents_domain::api_key::{
    ApiKey, ApiKeyError, ApiKeyStore, KeyLookup, KeyTurn, KeyUsage, NewApiKey, Scope,
};
use agents_domain::{ApiKeyId, StoreError, TenantId, UserId};
use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Value};
use time::OffsetDateTime;

use super::rows;
use super::support::{
    all, exec, get, is_foreign_key_violation, one, stmt, store_err, ts, ts_opt, unique_violation,
    uuid,
};

/// API keys and their counters in SQL.
#[derive(Debug, Clone)]
pub struct SeaOrmApiKeyStore {
    db: DatabaseConnection,
}

impl SeaOrmApiKeyStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// The key's columns, each prefixed by `alias` (with its dot, or "").
fn columns(alias: &str) -> String {
    [
        "id",
        "tenant_id",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "rate_limit_per_minute",
        "monthly_message_limit",
        "monthly_token_limit",
    ]
    .iter()
    .map(|c| format!("{alias}{c}"))
    .collect::<Vec<_>>()
    .join(", ")
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn key_row(row: &QueryResult) -> Result<ApiKey, StoreError> {
    let scopes: String = get(row, "scopes")?;
    let scopes = scopes
        .split_whitespace()
        .map(|s| {
            Scope::parse(s, "scopes")
                .map_err(|_| StoreError::other(format!("unknown stored scope {s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rate: Option<i32> = get(row, "rate_limit_per_minute")?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(get(row, "id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        name: get(row, "name")?,
        prefix: get(row, "prefix")?,
        scopes,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
        last_used_at: get(row, "last_used_at")?,
        rate_limit_per_minute: rate.and_then(|r| u32::try_from(r).ok()),
        monthly_message_limit: get(row, "monthly_message_limit")?,
        monthly_token_limit: get(row, "monthly_token_limit")?,
        created_by: get::<Option<uuid::Uuid>>(row, "created_by")?.map(UserId::from_uuid),
    })
}

fn write_err(err: DbErr) -> ApiKeyError {
    if unique_violation(&err).is_some() {
        return ApiKeyError::PrefixTaken;
    }
    if is_foreign_key_violation(&err) {
        return ApiKeyError::TenantNotFound;
    }
    ApiKeyError::Store(store_err(err))
}

fn opt_i64(value: Option<i64>) -> Value {
    Value::BigInt(value)
}

#[async_trait]
impl ApiKeyStore for SeaOrmApiKeyStore {
    async fn create(&self, new: NewApiKey) -> Result<ApiKey, ApiKeyError> {
        let b = self.backend();
        let k = &new.key;
        let rate = k
            .rate_limit_per_minute
            .map(|r| i32::try_from(r).unwrap_or(i32::MAX));
        self.db
            .execute_raw(stmt(
                b,
                "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_by, created_at,
                     expires_at, rate_limit_per_minute, monthly_message_limit, monthly_token_limit)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                vec![
                    uuid(k.id.as_uuid()),
                    uuid(k.tenant_id.as_uuid()),
                    Value::from(k.name.as_str()),
                    Value::from(k.prefix.as_str()),
                    Value::from(new.hash.as_str()),
                    Value::from(scopes_text(&k.scopes)),
                    Value::Uuid(k.created_by.map(|u| u.as_uuid())),
                    ts(b, k.created_at),
                    ts_opt(b, k.expires_at),
                    Value::Int(rate),
                    opt_i64(k.monthly_message_limit),
                    opt_i64(k.monthly_token_limit),
                ],
            ))
            .await
            .map_err(write_err)?;
        Ok(new.key)
    }

    async fn list(
        &self,
        tenant: TenantId,
        month: OffsetDateTime,
    ) -> Result<Vec<(ApiKey, KeyUsage)>, ApiKeyError> {
        let b = self.backend();
        let sql = format!(
            "SELECT {}, COALESCE(u.messages, 0) AS used_messages, COALESCE(u.tokens, 0) AS used_tokens
             FROM api_keys k
             LEFT JOIN api_key_usage u ON u.api_key_id = k.id AND u.period_start = $2
             WHERE k.tenant_id = $1 ORDER BY k.created_at DESC, k.id",
            columns("k.")
        );
        let rows = all(
            &self.db,
            stmt(b, &sql, vec![uuid(tenant.as_uuid()), ts(b, month)]),
        )
        .await?;
        rows.iter()
            .map(|row| {
                let usage = KeyUsage {
                    messages: get(row, "used_messages")?,
                    tokens: get(row, "used_tokens")?,
                };
                Ok((key_row(row)?, usage))
            })
            .collect()
    }

    async fn revoke(
        &self,
        tenant: Option<TenantId>,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<ApiKey, ApiKeyError> {
        let b = self.backend();
        let mut values = vec![uuid(id.as_uuid()), ts(b, at)];
        let in_tenant = match tenant {
            Some(tenant) => {
                values.push(uuid(tenant.as_uuid()));
                " AND tenant_id = $3"
            }
            None => "",
        };
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2)
             WHERE id = $1{in_tenant} RETURNING {}",
            columns("")
        );
        let row = one(&self.db, stmt(b, &sql, values))
            .await?
            .ok_or(ApiKeyError::NotFound)?;
        Ok(key_row(&row)?)
    }

    async fn lookup(&self, prefix: &str) -> Result<Option<KeyLookup>, ApiKeyError> {
        let sql = format!(
            "SELECT {}, k.key_hash, t.id AS t_id, t.slug AS t_slug, t.name AS t_name,
                 t.created_at AS t_created_at
             FROM api_keys k JOIN tenant_accounts t ON t.id = k.tenant_id WHERE k.prefix = $1",
            columns("k.")
        );
        let Some(row) = one(
            &self.db,
            stmt(self.backend(), &sql, vec![Value::from(prefix)]),
        )
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(KeyLookup {
            key: key_row(&row)?,
            hash: get(&row, "key_hash")?,
            tenant: rows::tenant(&row, "t_")?,
        }))
    }

    async fn touch(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), ApiKeyError> {
        let b = self.backend();
        exec(
            &self.db,
            stmt(
                b,
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
                vec![uuid(id.as_uuid()), ts(b, at)],
            ),
        )
        .await?;
        Ok(())
    }

    async fn reserve_turn(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
    ) -> Result<KeyTurn, ApiKeyError> {
        let b = self.backend();
        // A key's limits never change, so reading them first races nothing.
        let limits = one(
            &self.db,
            stmt(
                b,
                "SELECT monthly_message_limit, monthly_token_limit FROM api_keys WHERE id = $1",
                vec![uuid(id.as_uuid())],
            ),
        )
        .await?
        .ok_or(ApiKeyError::NotFound)?;
        let message_limit: Option<i64> = get(&limits, "monthly_message_limit")?;
        let token_limit: Option<i64> = get(&limits, "monthly_token_limit")?;
        let key = || vec![uuid(id.as_uuid()), ts(b, month)];
        exec(
            &self.db,
            stmt(
                b,
                "INSERT INTO api_key_usage (api_key_id, period_start, messages, tokens)
                 VALUES ($1, $2, 0, 0) ON CONFLICT (api_key_id, period_start) DO NOTHING",
                key(),
            ),
        )
        .await?;
        // One conditional UPDATE: the check and the count are one step.
        let mut values = key();
        let mut conditions = String::new();
        for (column, limit) in [("messages", message_limit), ("tokens", token_limit)] {
            if let Some(limit) = limit {
                values.push(Value::BigInt(Some(limit)));
                conditions.push_str(&format!(" AND {column} < ${}", values.len()));
            }
        }
        let sql = format!(
            "UPDATE api_key_usage SET messages = messages + 1
             WHERE api_key_id = $1 AND period_start = $2{conditions} RETURNING messages, tokens"
        );
        if let Some(row) = one(&self.db, stmt(b, &sql, values)).await? {
            let tokens: i64 = get(&row, "tokens")?;
            return Ok(KeyTurn::Reserved {
                tokens_left: token_limit.map(|limit| (limit - tokens).max(0)),
            });
        }
        let row = one(
            &self.db,
            stmt(
                b,
                "SELECT messages, tokens FROM api_key_usage WHERE api_key_id = $1 AND period_start = $2",
                key(),
            ),
        )
        .await?;
        let messages: i64 = match &row {
            Some(row) => get(row, "messages")?,
            None => 0,
        };
        Ok(match (message_limit, token_limit) {
            (Some(limit), _) if messages >= limit => KeyTurn::MessagesUsedUp { limit },
            (_, limit) => KeyTurn::TokensUsedUp {
                limit: limit.unwrap_or_default(),
            },
        })
    }

    async fn release_turn(&self, id: ApiKeyId, month: OffsetDateTime) -> Result<(), ApiKeyError> {
        let b = self.backend();
        exec(
            &self.db,
            stmt(
                b,
                "UPDATE api_key_usage SET messages = messages - 1
                 WHERE api_key_id = $1 AND period_start = $2 AND messages > 0",
                vec![uuid(id.as_uuid()), ts(b, month)],
            ),
        )
        .await?;
        Ok(())
    }

    async fn record_tokens(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
        tokens: i64,
    ) -> Result<(), ApiKeyError> {
        let b = self.backend();
        exec(
            &self.db,
            stmt(
                b,
                "INSERT INTO api_key_usage (api_key_id, period_start, messages, tokens)
                 VALUES ($1, $2, 0, $3) ON CONFLICT (api_key_id, period_start)
                 DO UPDATE SET tokens = api_key_usage.tokens + excluded.tokens",
                vec![
                    uuid(id.as_uuid()),
                    ts(b, month),
                    Value::BigInt(Some(tokens)),
                ],
            ),
        )
        .await?;
        Ok(())
    }
}
