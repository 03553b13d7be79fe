//! Accounts, tokens and tenants: registration, login with throttling,
//! rotating refresh tokens, authentication of requests, and membership
//! management with server-side roles.

mod authenticate;
mod login;
mod operator;
mod register;
mod tenants;

use std::sync::Arc;
use std::time::Duration;

use agents_domain::account::{AccountStore, PasswordHasher, RefreshTokenStore, TokenIssuer};
use agents_domain::clock::Clock;
use agents_domain::limiter::RateLimiter;

pub use authenticate::{AuthError, Caller};
pub use login::{LoginError, RefreshError, TokenPair};
pub use operator::{OperatorError, operator_tenant_ref};
pub use register::{RegisterError, RegisterInput, Registered};
pub use tenants::{MemberChange, TenantError};

/// Account policy knobs.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// Failed logins allowed per username and per client address in a window (0 = no limit).
    pub login_max_failures: u32,
    /// The failure-counting window.
    pub login_window: Duration,
    /// Tenants one user may own, their personal tenant included
    /// (`MAX_TENANTS_PER_USER`; 0 = no limit).
    pub max_tenants_per_user: u32,
    /// Tenants one user may create per hour
    /// (`RATE_LIMIT_TENANT_CREATE_PER_HOUR`; 0 = no limit).
    pub tenant_creates_per_hour: u32,
    /// How long an address a login succeeded from stays exempt from the
    /// account's failure count (zero: never exempt).
    pub login_known_address_ttl: Duration,
    /// How long a used refresh token may be presented again to get the same
    /// successor (zero: any second use revokes the login).
    pub refresh_reuse_grace: Duration,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(900),
            max_tenants_per_user: 10,
            tenant_creates_per_hour: 10,
            login_known_address_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(30),
        }
    }
}

/// The account use cases over their ports.
pub struct AccountService {
    store: Arc<dyn AccountStore>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    hasher: Arc<dyn PasswordHasher>,
    issuer: Arc<dyn TokenIssuer>,
    limiter: Arc<dyn RateLimiter>,
    clock: Arc<dyn Clock>,
    settings: AccountSettings,
}

impl AccountService {
    /// Wires the service.
    pub fn new(
        store: Arc<dyn AccountStore>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        hasher: Arc<dyn PasswordHasher>,
        issuer: Arc<dyn TokenIssuer>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        settings: AccountSettings,
    ) -> Self {
        Self {
            store,
            refresh_tokens,
            hasher,
            issuer,
            limiter,
            clock,
            settings,
        }
    }
}

#[cfg(test)]
mod tests;
