//! A key's monthly budgets at turn start: one chat turn counted when both
//! `monthly_message_limit` and `monthly_token_limit` pass, in one atomic
//! store step; given back when the model fails; tokens added at the end.

use std::sync::Arc;

use agents_domain::ApiKeyId;
use agents_domain::api_key::{ApiKeyStore, KeyTurn};
use agents_domain::clock::Clock;
use time::OffsetDateTime;

use super::month_start;
use crate::chat::TurnRefused;

/// A turn counted against a key, settled by [`KeyBudget::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyReservation {
    /// The key.
    pub key: ApiKeyId,
    /// The month it was counted in.
    pub month: OffsetDateTime,
    /// Tokens left this month under the key's limit (`None`: no limit).
    pub tokens_left: Option<i64>,
}

/// Keys' monthly budgets.
#[derive(Clone)]
pub struct KeyBudget {
    store: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
}

impl KeyBudget {
    /// Budgets over `store`'s counters.
    pub fn new(store: Arc<dyn ApiKeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Counts one turn for `key`, or refuses it (nothing counted).
    pub async fn reserve(&self, key: ApiKeyId) -> Result<KeyReservation, TurnRefused> {
        let now = self.clock.now();
        let month = month_start(now);
        let decision = self
            .store
            .reserve_turn(key, month)
            .await
            .map_err(|e| TurnRefused::Unavailable(crate::cause::Cause::new(e)))?;
        let refused = |limit: i64, what: &str| {
            tracing::info!(api_key_id = %key, limit, "chat refused: the key's {what} budget is used up");
            let next = month_start(month + time::Duration::days(32));
            let wait = (next - now).whole_seconds().max(1);
            TurnRefused::QuotaExceeded {
                message: format!(
                    "This API key allows {limit} {what} per calendar month (UTC) and they are used up; \
                     use a key with a higher limit or wait for the next month."
                ),
                retry_after: Some(std::time::Duration::from_secs(
                    u64::try_from(wait).unwrap_or(1),
                )),
            }
        };
        match decision {
            KeyTurn::Reserved { tokens_left } => Ok(KeyReservation {
                key,
                month,
                tokens_left,
            }),
            KeyTurn::MessagesUsedUp { limit } => Err(refused(limit, "messages")),
            KeyTurn::TokensUsedUp { limit } => Err(refused(limit, "tokens")),
        }
    }

    /// Settles a reserved turn: the unit back when the model failed, the
    /// tokens used added either way. Failures are logged: the answer has
    /// already been given.
    pub async fn settle(&self, reservation: KeyReservation, succeeded: bool, tokens: i64) {
        let KeyReservation { key, month, .. } = reservation;
        if !succeeded && let Err(error) = self.store.release_turn(key, month).await {
            tracing::warn!(api_key_id = %key, %error, "could not give back the key's turn");
        }
        if tokens > 0
            && let Err(error) = self.store.record_tokens(key, month, tokens).await
        {
            tracing::warn!(api_key_id = %key, %error, "could not count the key's tokens");
        }
    }
}
