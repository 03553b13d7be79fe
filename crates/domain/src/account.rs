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
pub use model::{Member, Membership, NewTenant, NewUser, Tenant, TenantWithRole, User};
pub use role::Role;
pub use store::{AccountError, AccountStore, AuthContext, TenantRef};
pub use values::{DisplayName, Email, Password, Slug, TenantName, Username};
#[cfg(any(test, feature = "mocks"))]
pub use credentials::{MockPasswordHasher, MockRefreshTokenStore, MockTokenIssuer};
#[cfg(any(test, feature = "mocks"))]
pub use store::MockAccountStore;
