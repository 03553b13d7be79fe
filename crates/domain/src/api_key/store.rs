//! The API key store port.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{ApiKey, KeyLookup, KeyTurn, KeyUsage, NewApiKey};
use crate::{ApiKeyId, StoreError, TenantId};

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// Another key has the same prefix (the caller makes a new key).
    #[error("a key with this prefix exists")]
    PrefixTaken,
    /// The key's tenant does not exist.
    #[error("tenant not found")]
    TenantNotFound,
    /// No such key (in this tenant).
    #[error("API key not found")]
    NotFound,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keys, their hashes and their monthly counters. `month` arguments are
/// the first instant of a calendar month (UTC), the counters' key.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a key. Errors: `PrefixTaken`, `TenantNotFound`.
    async fn create(&self, key: NewApiKey) -> Result<ApiKey, ApiKeyError>;

    /// The tenant's keys, newest first, each with its use in `month`.
    async fn list(
        &self,
        tenant: TenantId,
        month: OffsetDateTime,
    ) -> Result<Vec<(ApiKey, KeyUsage)>, ApiKeyError>;

    /// Revokes a key at `at` (a revoked key keeps its first `revoked_at`),
    /// only in `tenant` when given. Errors: `NotFound`.
    async fn revoke(
        &self,
        tenant: Option<TenantId>,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<ApiKey, ApiKeyError>;

    /// The key with this prefix, its hash and its tenant, in one indexed
    /// query; revoked and expired keys are returned too (the caller refuses
    /// them). `Ok(None)` when no key has it.
    async fn lookup(&self, prefix: &str) -> Result<Option<KeyLookup>, ApiKeyError>;

    /// Sets `last_used_at`.
    async fn touch(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), ApiKeyError>;

    /// Counts one chat turn of key `id` in `month` when both of the key's
    /// limits pass (fewer messages than `monthly_message_limit`, fewer
    /// tokens than `monthly_token_limit`; no limit passes), checked and
    /// counted in one atomic step: concurrent turns never pass a limit
    /// together. A refusal counts nothing. Errors: `NotFound`.
    async fn reserve_turn(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
    ) -> Result<KeyTurn, ApiKeyError>;

    /// Gives back a turn counted by `reserve_turn` (a failed model call).
    async fn release_turn(&self, id: ApiKeyId, month: OffsetDateTime) -> Result<(), ApiKeyError>;

    /// Adds the tokens a turn used to `month`.
    async fn record_tokens(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
        tokens: i64,
    ) -> Result<(), ApiKeyError>;
}
