//! Tenant API keys: created by owners and admins (or operators), listed
//! with this month's use, revoked at once; requests authenticated by them
//! with one indexed lookup and a constant-time comparison.

mod authenticate;
mod budget;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use agents_domain::api_key::{
    ApiKey, ApiKeyError, ApiKeyStore, KeyMaterial, KeyUsage, NewApiKey, PREFIX_CHARS, Scope,
};
use agents_domain::clock::Clock;
use agents_domain::limiter::RateLimiter;
use agents_domain::{ApiKeyId, FieldError, StoreError, TenantId, UserId};
use time::OffsetDateTime;

use crate::accounts::Caller;

pub use authenticate::{KeyAuthError, looks_like_key};
pub use budget::{KeyBudget, KeyReservation};

/// What a client asks for when creating a key (validated by the service).
#[derive(Debug, Clone, Default)]
pub struct CreateKeyInput {
    /// A label, 1-100 characters.
    pub name: String,
    /// Scope names; `None`: `chat` and `conversations:read`.
    pub scopes: Option<Vec<String>>,
    /// When the key stops working; must be in the future.
    pub expires_at: Option<OffsetDateTime>,
    /// Requests per minute (≥ 1).
    pub rate_limit_per_minute: Option<i64>,
    /// Chat turns per calendar month (≥ 1).
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per calendar month (≥ 1).
    pub monthly_token_limit: Option<i64>,
}

/// A new key and its secret, shown this once.
#[derive(Clone)]
pub struct CreatedKey {
    /// The stored key.
    pub key: ApiKey,
    /// The secret (`agk_...`); only its hash is kept.
    pub secret: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Invalid fields (422).
    #[error("invalid API key request")]
    Invalid(Vec<FieldError>),
    /// Only owners and admins manage keys, and keys never do (403).
    #[error("only the tenant's owners and admins manage API keys")]
    Forbidden,
    /// No such key in the tenant (404).
    #[error("API key not found")]
    NotFound,
    /// The tenant does not exist.
    #[error("tenant not found")]
    TenantNotFound,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiKeyError> for KeyError {
    fn from(err: ApiKeyError) -> Self {
        match err {
            ApiKeyError::NotFound => KeyError::NotFound,
            ApiKeyError::TenantNotFound => KeyError::TenantNotFound,
            ApiKeyError::Store(e) => KeyError::Store(e),
            ApiKeyError::PrefixTaken => KeyError::Store(StoreError::other("key prefix collision")),
        }
    }
}

/// The key use cases over their ports.
pub struct ApiKeyService {
    store: Arc<dyn ApiKeyStore>,
    material: Arc<dyn KeyMaterial>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
}

/// The first instant of `at`'s calendar month (UTC): budgets count per month.
pub fn month_start(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .unwrap_or(utc)
}

fn positive(value: Option<i64>, field: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match value {
        Some(v) if v < 1 => {
            errors.push(FieldError::new(field, "must be at least 1"));
            None
        }
        other => other,
    }
}

/// The tenant the caller manages, or `Forbidden`.
fn managed_tenant(caller: &Caller) -> Result<TenantId, KeyError> {
    match &caller.tenant {
        Some((tenant, role)) if caller.api_key.is_none() && role.can_manage() => Ok(tenant.id),
        _ => Err(KeyError::Forbidden),
    }
}

impl ApiKeyService {
    /// Wires the service; `limiter` is the shared one (Redis across replicas).
    pub fn new(
        store: Arc<dyn ApiKeyStore>,
        material: Arc<dyn KeyMaterial>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            material,
            limiter,
            clock,
        }
    }

    /// Creates a key in the caller's tenant (owners and admins).
    pub async fn create(
        &self,
        caller: &Caller,
        input: CreateKeyInput,
    ) -> Result<CreatedKey, KeyError> {
        let tenant = managed_tenant(caller)?;
        self.create_in(tenant, Some(caller.user_id), input).await
    }

    /// Creates a key in `tenant` without a role check (operators).
    pub async fn create_in(
        &self,
        tenant: TenantId,
        created_by: Option<UserId>,
        input: CreateKeyInput,
    ) -> Result<CreatedKey, KeyError> {
        let now = self.clock.now();
        let mut errors = Vec::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1-100 characters"));
        }
        let mut scopes = Vec::new();
        for (i, raw) in input.scopes.unwrap_or_default().iter().enumerate() {
            match Scope::parse(raw, &format!("scopes.{i}")) {
                Ok(scope) => scopes.push(scope),
                Err(e) => errors.push(e),
            }
        }
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            scopes = Scope::defaults();
        }
        if input.expires_at.is_some_and(|at| at <= now) {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
        let rate = positive(
            input.rate_limit_per_minute,
            "rate_limit_per_minute",
            &mut errors,
        )
        .map(|r| u32::try_from(r).unwrap_or(u32::MAX));
        let messages = positive(
            input.monthly_message_limit,
            "monthly_message_limit",
            &mut errors,
        );
        let tokens = positive(
            input.monthly_token_limit,
            "monthly_token_limit",
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(KeyError::Invalid(errors));
        }
        // A prefix collision (48 random bits) is retried with a new key.
        for _ in 0..3 {
            let secret = self.material.generate();
            let key = ApiKey {
                id: ApiKeyId::new(),
                tenant_id: tenant,
                name: name.clone(),
                prefix: secret.chars().take(PREFIX_CHARS).collect(),
                scopes: scopes.clone(),
                created_at: now,
                expires_at: input.expires_at,
                revoked_at: None,
                last_used_at: None,
                rate_limit_per_minute: rate,
                monthly_message_limit: messages,
                monthly_token_limit: tokens,
                created_by,
            };
            let hash = self.material.hash(&secret);
            match self.store.create(NewApiKey { key, hash }).await {
                Ok(key) => {
                    tracing::info!(api_key_id = %key.id, api_key_prefix = %key.prefix, tenant_id = %tenant, "API key created");
                    return Ok(CreatedKey { key, secret });
                }
                Err(ApiKeyError::PrefixTaken) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(KeyError::Store(StoreError::other(
            "no free key prefix after several attempts",
        )))
    }

    /// The caller's tenant's keys with this month's use (owners and admins).
    pub async fn list(&self, caller: &Caller) -> Result<Vec<(ApiKey, KeyUsage)>, KeyError> {
        let tenant = managed_tenant(caller)?;
        let month = month_start(self.clock.now());
        Ok(self.store.list(tenant, month).await?)
    }

    /// Revokes a key of the caller's tenant (owners and admins).
    pub async fn revoke(&self, caller: &Caller, id: ApiKeyId) -> Result<ApiKey, KeyError> {
        let tenant = managed_tenant(caller)?;
        self.revoke_in(Some(tenant), id).await
    }

    /// Revokes a key, in `tenant` when given (operators pass `None`).
    pub async fn revoke_in(
        &self,
        tenant: Option<TenantId>,
        id: ApiKeyId,
    ) -> Result<ApiKey, KeyError> {
        let key = self.store.revoke(tenant, id, self.clock.now()).await?;
        tracing::info!(api_key_id = %key.id, api_key_prefix = %key.prefix, "API key revoked");
        Ok(key)
    }
}
