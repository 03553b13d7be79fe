//! Tenant API keys: credentials for back ends and scripts, limited to
//! scopes, with their own budgets, revocable at once.

mod model;
mod store;

pub use model::{
    ApiKey, KEY_PREFIX, KeyLookup, KeyMaterial, KeyTurn, KeyUsage, NewApiKey, PREFIX_CHARS, Scope,
};
#[cfg(any(test, feature = "mocks"))]
pub use store::MockApiKeyStore;
pub use store::{ApiKeyError, ApiKeyStore};
