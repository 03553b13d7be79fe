//! The account store port: users, tenants and memberships.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Member, NewTenant, NewUser, Role, Tenant, TenantWithRole, User};
use crate::{StoreError, TenantId, UserId};

/// Errors of the account store.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The username is already registered.
    #[error("username is already taken")]
    UsernameTaken,
    /// The email is already registered.
    #[error("email is already registered")]
    EmailTaken,
    /// The tenant slug is already used.
    #[error("slug is already taken")]
    SlugTaken,
    /// The user or tenant does not exist (or the caller may not know it does).
    #[error("not found")]
    NotFound,
    /// The user is already a member of the tenant.
    #[error("user is already a member")]
    AlreadyMember,
    /// The change would leave the tenant without an owner.
    #[error("a tenant must keep at least one owner")]
    LastOwner,
    /// The user already owns as many tenants as allowed.
    #[error("the user owns the most tenants allowed")]
    TenantLimitReached,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a request names a tenant: by id, by slug, or not at all (the
/// user's default tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    /// A tenant id.
    Id(TenantId),
    /// A tenant slug.
    Slug(String),
    /// The user's default tenant: the home tenant when still a member, else
    /// the first one joined.
    Default,
}

/// What an authenticated request needs, read in one query: the user's active
/// flag and their membership in the requested tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthContext {
    /// The user.
    pub user_id: UserId,
    /// Whether the account is active.
    pub is_active: bool,
    /// The resolved tenant and role, `None` when the user is not a member of
    /// the tenant asked for (or has none).
    pub tenant: Option<(Tenant, Role)>,
}

/// Users, tenants and memberships.
///
/// Every method that changes several rows does so in one transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a user, their personal tenant and the owner membership,
    /// atomically. Errors: `UsernameTaken`, `EmailTaken`, `SlugTaken`
    /// (the caller retries with another slug).
    async fn register(
        &self,
        user: NewUser,
        tenant: NewTenant,
    ) -> Result<(User, Tenant), AccountError>;

    /// Like [`AccountStore::register`], also creating `shared`, owned by
    /// the new user, in the same transaction: either everything exists
    /// afterwards or nothing does (operators' `user create --tenant`).
    /// Errors: as `register`; `SlugTaken` for either slug.
    async fn register_with_tenant(
        &self,
        user: NewUser,
        personal: NewTenant,
        shared: NewTenant,
    ) -> Result<(User, Tenant, Tenant), AccountError>;

    /// The tenant named by id or slug; `None` when there is none (and
    /// for `TenantRef::Default`, which names no tenant by itself).
    async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, AccountError>;

    /// Every tenant with its number of members, oldest first (operators).
    async fn list_tenants(&self) -> Result<Vec<(Tenant, u64)>, AccountError>;

    /// Finds a user by username (exact) or email (case-insensitive), with
    /// their password hash. `Ok(None)` when unknown.
    async fn find_credentials(
        &self,
        username_or_email: &str,
    ) -> Result<Option<(User, String)>, AccountError>;

    /// Finds a user by id.
    async fn find_user(&self, id: UserId) -> Result<Option<User>, AccountError>;

    /// Finds a user by username or email, for adding members.
    async fn find_user_by_login(
        &self,
        username_or_email: &str,
    ) -> Result<Option<User>, AccountError>;

    /// The user's active flag and their membership in `tenant`, in one
    /// query. `Ok(None)` when the user does not exist.
    async fn auth_context(
        &self,
        user: UserId,
        tenant: &TenantRef,
    ) -> Result<Option<AuthContext>, AccountError>;

    /// The tenants the user belongs to, oldest membership first.
    async fn tenants_of(&self, user: UserId) -> Result<Vec<TenantWithRole>, AccountError>;

    /// Whether a slug is taken.
    async fn slug_exists(&self, slug: &str) -> Result<bool, AccountError>;

    /// Creates a tenant with `owner` as its owner. With `max_owned`, the
    /// owner may then own at most that many tenants, counted in the same
    /// transaction, so concurrent creations cannot pass the limit together.
    /// Errors: `SlugTaken`, `TenantLimitReached`, `NotFound` (owner).
    async fn create_tenant(
        &self,
        tenant: NewTenant,
        owner: UserId,
        max_owned: Option<u32>,
    ) -> Result<Tenant, AccountError>;

    /// Finds a tenant by slug, creating it when absent (the `default` tenant
    /// of adopted data). Never fails on a concurrent creation.
    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<Tenant, AccountError>;

    /// The members of a tenant, oldest first.
    async fn members(&self, tenant: TenantId) -> Result<Vec<Member>, AccountError>;

    /// Adds a member. Errors: `NotFound` (user), `AlreadyMember`.
    async fn add_member(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        at: OffsetDateTime,
    ) -> Result<Member, AccountError>;

    /// Changes a member's role; refuses (`LastOwner`) to demote the last
    /// owner, checked in the same transaction. Errors: `NotFound`.
    async fn change_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<Member, AccountError>;

    /// Removes a member; refuses (`LastOwner`) to remove the last owner.
    /// Errors: `NotFound`.
    async fn remove_member(&self, tenant: TenantId, user: UserId) -> Result<(), AccountError>;

    /// Activates or deactivates a user. Errors: `NotFound`.
    async fn set_active(&self, user: UserId, active: bool) -> Result<(), AccountError>;
}
