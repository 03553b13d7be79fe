//! `ApiKeyStore` in memory, with the same prefix uniqueness and atomic
//! counters as the SQL store (one lock over everything).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agents_domain::account::{AccountStore, TenantRef};
use agents_domain::api_key::{
    ApiKey, ApiKeyError, ApiKeyStore, KeyLookup, KeyTurn, KeyUsage, NewApiKey,
};
use agents_domain::{ApiKeyId, StoreError, TenantId};
use async_trait::async_trait;
use time::OffsetDateTime;

use super::lock::lock;

#[derive(Debug, Default)]
struct State {
    keys: HashMap<ApiKeyId, (ApiKey, String)>,
    usage: HashMap<(ApiKeyId, OffsetDateTime), KeyUsage>,
}

/// API keys in memory; tenants are read from the account store given.
pub struct InMemoryApiKeyStore {
    accounts: Arc<dyn AccountStore>,
    state: Mutex<State>,
}

impl InMemoryApiKeyStore {
    /// A store whose keys belong to the tenants of `accounts`.
    pub fn new(accounts: Arc<dyn AccountStore>) -> Self {
        Self {
            accounts,
            state: Mutex::default(),
        }
    }
}

fn tenant_err(err: agents_domain::account::AccountError) -> ApiKeyError {
    ApiKeyError::Store(StoreError::other(err.to_string()))
}

#[async_trait]
impl ApiKeyStore for InMemoryApiKeyStore {
    async fn create(&self, new: NewApiKey) -> Result<ApiKey, ApiKeyError> {
        let tenant = TenantRef::Id(new.key.tenant_id);
        if self
            .accounts
            .find_tenant(&tenant)
            .await
            .map_err(tenant_err)?
            .is_none()
        {
            return Err(ApiKeyError::TenantNotFound);
        }
        let mut state = lock(&self.state);
        if state.keys.values().any(|(k, _)| k.prefix == new.key.prefix) {
            return Err(ApiKeyError::PrefixTaken);
        }
        state.keys.insert(new.key.id, (new.key.clone(), new.hash));
        Ok(new.key)
    }

    async fn list(
        &self,
        tenant: TenantId,
        month: OffsetDateTime,
    ) -> Result<Vec<(ApiKey, KeyUsage)>, ApiKeyError> {
        let state = lock(&self.state);
        let mut keys: Vec<(ApiKey, KeyUsage)> = state
            .keys
            .values()
            .filter(|(k, _)| k.tenant_id == tenant)
            .map(|(k, _)| {
                let usage = state.usage.get(&(k.id, month)).copied().unwrap_or_default();
                (k.clone(), usage)
            })
            .collect();
        keys.sort_by(|(a, _), (b, _)| (b.created_at, a.id).cmp(&(a.created_at, b.id)));
        Ok(keys)
    }

    async fn revoke(
        &self,
        tenant: Option<TenantId>,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<ApiKey, ApiKeyError> {
        let mut state = lock(&self.state);
        let (key, _) = state
            .keys
            .get_mut(&id)
            .filter(|(k, _)| tenant.is_none_or(|t| t == k.tenant_id))
            .ok_or(ApiKeyError::NotFound)?;
        key.revoked_at.get_or_insert(at);
        Ok(key.clone())
    }

    async fn lookup(&self, prefix: &str) -> Result<Option<KeyLookup>, ApiKeyError> {
        let found = lock(&self.state)
            .keys
            .values()
            .find(|(k, _)| k.prefix == prefix)
            .cloned();
        let Some((key, hash)) = found else {
            return Ok(None);
        };
        let tenant = self
            .accounts
            .find_tenant(&TenantRef::Id(key.tenant_id))
            .await
            .map_err(tenant_err)?;
        Ok(tenant.map(|tenant| KeyLookup { key, hash, tenant }))
    }

    async fn touch(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), ApiKeyError> {
        if let Some((key, _)) = lock(&self.state).keys.get_mut(&id) {
            key.last_used_at = Some(at);
        }
        Ok(())
    }

    async fn reserve_turn(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
    ) -> Result<KeyTurn, ApiKeyError> {
        let mut state = lock(&self.state);
        let (message_limit, token_limit) = state
            .keys
            .get(&id)
            .map(|(k, _)| (k.monthly_message_limit, k.monthly_token_limit))
            .ok_or(ApiKeyError::NotFound)?;
        let usage = state.usage.entry((id, month)).or_default();
        if let Some(limit) = message_limit.filter(|limit| usage.messages >= *limit) {
            return Ok(KeyTurn::MessagesUsedUp { limit });
        }
        if let Some(limit) = token_limit.filter(|limit| usage.tokens >= *limit) {
            return Ok(KeyTurn::TokensUsedUp { limit });
        }
        usage.messages += 1;
        Ok(KeyTurn::Reserved {
            tokens_left: token_limit.map(|limit| (limit - usage.tokens).max(0)),
        })
    }

    async fn release_turn(&self, id: ApiKeyId, month: OffsetDateTime) -> Result<(), ApiKeyError> {
        if let Some(usage) = lock(&self.state).usage.get_mut(&(id, month)) {
            usage.messages = (usage.messages - 1).max(0);
        }
        Ok(())
    }

    async fn record_tokens(
        &self,
        id: ApiKeyId,
        month: OffsetDateTime,
        tokens: i64,
    ) -> Result<(), ApiKeyError> {
        let mut state = lock(&self.state);
        let usage = state.usage.entry((id, month)).or_default();
        usage.tokens = usage.tokens.saturating_add(tokens);
        Ok(())
    }
}
