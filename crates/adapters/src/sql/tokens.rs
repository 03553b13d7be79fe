//! `RefreshTokenStore` on sea-orm: tokens by hash; rotation locks the
//! presented token's row so two concurrent uses cannot both succeed.

use agents_domain::StoreError;
use agents_domain::UserId;
use agents_domain::account::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
use agents_domain::ids::TokenFamilyId;
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::support::{begin_write, commit, exec, for_update, get, one, stmt, ts, uuid};

/// Refresh tokens in the `refresh_tokens` table.
#[derive(Debug, Clone)]
pub struct SeaOrmRefreshTokenStore {
    db: DatabaseConnection,
}

impl SeaOrmRefreshTokenStore {
    /// A store on an open (and migrated) connection.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

async fn insert(
    txn: &DatabaseTransaction,
    b: DbBackend,
    token: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    exec(
        txn,
        stmt(
            b,
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            vec![
                Value::from(token.token_hash.as_str()),
                uuid(token.family_id.as_uuid()),
                uuid(token.user_id.as_uuid()),
                ts(b, token.created_at),
                ts(b, token.expires_at),
            ],
        ),
    )
    .await
    .map(|_| ())
}

async fn revoke(
    txn: &DatabaseTransaction,
    b: DbBackend,
    family: Uuid,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    exec(
        txn,
        stmt(
            b,
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            vec![uuid(family), ts(b, now)],
        ),
    )
    .await
    .map(|_| ())
}

/// Whether `next_hash` is a stored, unused, unrevoked and unexpired token
/// of `family` (a rotation's successor the client has not used yet).
async fn successor_live(
    txn: &DatabaseTransaction,
    b: DbBackend,
    next_hash: &str,
    family: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let row = one(
        txn,
        stmt(
            b,
            "SELECT expires_at, used_at, revoked_at FROM refresh_tokens
             WHERE token_hash = $1 AND family_id = $2",
            vec![Value::from(next_hash), uuid(family)],
        ),
    )
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let expires_at: OffsetDateTime = get(&row, "expires_at")?;
    let used_at: Option<OffsetDateTime> = get(&row, "used_at")?;
    let revoked_at: Option<OffsetDateTime> = get(&row, "revoked_at")?;
    Ok(used_at.is_none() && revoked_at.is_none() && expires_at > now)
}

#[async_trait]
impl RefreshTokenStore for SeaOrmRefreshTokenStore {
    async fn insert(&self, token: RefreshTokenRecord) -> Result<(), StoreError> {
        let txn = begin_write(&self.db).await?;
        insert(&txn, self.backend(), &token).await?;
        commit(txn).await
    }

    async fn rotate(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: OffsetDateTime,
        now: OffsetDateTime,
        grace: std::time::Duration,
    ) -> Result<RotateOutcome, StoreError> {
        let b = self.backend();
        let txn = begin_write(&self.db).await?;
        let sql = format!(
            "SELECT family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens
             WHERE token_hash = $1{}",
            for_update(b)
        );
        let Some(row) = one(&txn, stmt(b, &sql, vec![Value::from(presented_hash)])).await? else {
            return Ok(RotateOutcome::Invalid);
        };
        let family: Uuid = get(&row, "family_id")?;
        let user = UserId::from_uuid(get(&row, "user_id")?);
        let expires_at: OffsetDateTime = get(&row, "expires_at")?;
        let used_at: Option<OffsetDateTime> = get(&row, "used_at")?;
        let revoked_at: Option<OffsetDateTime> = get(&row, "revoked_at")?;
        let replayable = revoked_at.is_none()
            && used_at.is_some_and(|used| now - used <= grace)
            && successor_live(&txn, b, next_hash, family, now).await?;
        if replayable {
            return Ok(RotateOutcome::Replayed { user_id: user });
        }
        if used_at.is_some() || revoked_at.is_some() {
            // A second use means the token leaked: end the whole login.
            revoke(&txn, b, family, now).await?;
            commit(txn).await?;
            return Ok(RotateOutcome::Reused);
        }
        if expires_at <= now {
            return Ok(RotateOutcome::Invalid);
        }
        exec(
            &txn,
            stmt(
                b,
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1",
                vec![Value::from(presented_hash), ts(b, now)],
            ),
        )
        .await?;
        let next = RefreshTokenRecord {
            token_hash: next_hash.to_owned(),
            family_id: TokenFamilyId::from_uuid(family),
            user_id: user,
            created_at: now,
            expires_at: next_expires_at,
        };
        insert(&txn, b, &next).await?;
        commit(txn).await?;
        Ok(RotateOutcome::Rotated { user_id: user })
    }

    async fn revoke_family(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let b = self.backend();
        let txn = begin_write(&self.db).await?;
        let row = one(
            &txn,
            stmt(
                b,
                "SELECT family_id FROM refresh_tokens WHERE token_hash = $1",
                vec![Value::from(presented_hash)],
            ),
        )
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        revoke(&txn, b, get(&row, "family_id")?, now).await?;
        commit(txn).await?;
        Ok(true)
    }
}
