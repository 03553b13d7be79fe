//! Accounts, tenants, memberships and the credentials that prove them.

mod credentials;
mod model;
mod role;
mod store;
mod values;

pub use credentials::{
    AccessClaims, PasswordHasher, RefreshTokenRecord, RefreshTokenStore, RotateOutcome, TokenError,
    TokenIssuer,
};
#[cfg(any(test, feature = "mocks"))]
pub use credentials::{MockPasswordHasher, MockRefreshTokenStore, MockTokenIssuer};
pub use model::{Member, Membership, NewTenant, NewUser, Tenant, TenantWithRole, User};
pub use role::Role;
#[cfg(any(test, feature = "mocks"))]
pub use store::MockAccountStore;
pub use store::{AccountError, AccountStore, AuthContext, TenantRef};
pub use values::{DisplayName, Email, Password, RESERVED_SLUGS, Slug, TenantName, Username};
