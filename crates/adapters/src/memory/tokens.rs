//! `RefreshTokenStore` in memory: single use and family revocation under one lock.

use std::collections::HashMap;
use std::sync::Mutex;

use agents_domain::StoreError;
use agents_domain::account::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;

#[derive(Debug, Clone)]
struct Row {
    record: RefreshTokenRecord,
    used_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

/// Refresh tokens by hash.
#[derive(Debug, Default)]
pub struct InMemoryRefreshTokenStore {
    tokens: Mutex<HashMap<String, Row>>,
}

impl InMemoryRefreshTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn revoke_family(
    tokens: &mut HashMap<String, Row>,
    family: agents_domain::ids::TokenFamilyId,
    now: OffsetDateTime,
) {
    for row in tokens
        .values_mut()
        .filter(|r| r.record.family_id == family && r.revoked_at.is_none())
    {
        row.revoked_at = Some(now);
    }
}

/// Whether a token used at `used` is still within `grace` at `now`.
fn within_grace(used: OffsetDateTime, now: OffsetDateTime, grace: std::time::Duration) -> bool {
    now - used <= grace
}

#[async_trait]
impl RefreshTokenStore for InMemoryRefreshTokenStore {
    async fn insert(&self, token: RefreshTokenRecord) -> Result<(), StoreError> {
        let mut tokens = lock(&self.tokens);
        if tokens.contains_key(&token.token_hash) {
            return Err(StoreError::Other(
                "refresh token hash already stored".into(),
            ));
        }
        tokens.insert(
            token.token_hash.clone(),
            Row {
                record: token,
                used_at: None,
                revoked_at: None,
            },
        );
        Ok(())
    }

    async fn rotate(
        &self,
        presented_hash: &str,
        next_hash: &str,
        next_expires_at: OffsetDateTime,
        now: OffsetDateTime,
        grace: std::time::Duration,
    ) -> Result<RotateOutcome, StoreError> {
        let mut tokens = lock(&self.tokens);
        let Some(row) = tokens.get(presented_hash).cloned() else {
            return Ok(RotateOutcome::Invalid);
        };
        let successor_live = tokens.get(next_hash).is_some_and(|next| {
            next.record.family_id == row.record.family_id
                && next.used_at.is_none()
                && next.revoked_at.is_none()
                && next.record.expires_at > now
        });
        if row.revoked_at.is_none()
            && row
                .used_at
                .is_some_and(|used| within_grace(used, now, grace))
            && successor_live
        {
            return Ok(RotateOutcome::Replayed {
                user_id: row.record.user_id,
            });
        }
        if row.used_at.is_some() || row.revoked_at.is_some() {
            revoke_family(&mut tokens, row.record.family_id, now);
            return Ok(RotateOutcome::Reused);
        }
        if row.record.expires_at <= now {
            return Ok(RotateOutcome::Invalid);
        }
        if let Some(presented) = tokens.get_mut(presented_hash) {
            presented.used_at = Some(now);
        }
        let next = RefreshTokenRecord {
            token_hash: next_hash.to_owned(),
            family_id: row.record.family_id,
            user_id: row.record.user_id,
            created_at: now,
            expires_at: next_expires_at,
        };
        tokens.insert(
            next_hash.to_owned(),
            Row {
                record: next,
                used_at: None,
                revoked_at: None,
            },
        );
        Ok(RotateOutcome::Rotated {
            user_id: row.record.user_id,
        })
    }

    async fn revoke_family(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tokens = lock(&self.tokens);
        let Some(family) = tokens.get(presented_hash).map(|r| r.record.family_id) else {
            return Ok(false);
        };
        revoke_family(&mut tokens, family, now);
        Ok(true)
    }
}
