//! Tenants and memberships, with roles checked on the server.

use agents_domain::FieldError;
use agents_domain::account::{
    AccountError, Member, NewTenant, Role, Slug, Tenant, TenantName, TenantWithRole, User,
};
use agents_domain::{StoreError, TenantId, UserId};

use super::register::candidate_slug;
use super::{AccountService, Caller};

/// Why a tenant operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// Invalid fields.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// The caller's role does not allow this.
    #[error("your role in this tenant does not allow this")]
    Forbidden,
    /// The user or member does not exist.
    #[error("user not found")]
    NotFound,
    /// The slug is taken.
    #[error("slug is already taken")]
    SlugTaken,
    /// The user is already a member.
    #[error("user is already a member")]
    AlreadyMember,
    /// The change would leave the tenant without an owner.
    #[error("a tenant must keep at least one owner")]
    LastOwner,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for TenantError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NotFound => TenantError::NotFound,
            AccountError::SlugTaken => TenantError::SlugTaken,
            AccountError::AlreadyMember => TenantError::AlreadyMember,
            AccountError::LastOwner => TenantError::LastOwner,
            AccountError::Store(e) => TenantError::Store(e),
            other => TenantError::Store(StoreError::other(other.to_string())),
        }
    }
}

/// A change of a member's role.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange {
    /// The member.
    pub user_id: UserId,
    /// The new role.
    pub role: Role,
}

fn acting_tenant(caller: &Caller) -> Result<(TenantId, Role), TenantError> {
    caller
        .tenant
        .as_ref()
        .map(|(t, r)| (t.id, *r))
        .ok_or(TenantError::Forbidden)
}

impl AccountService {
    /// The caller's user record and tenants (for `me`).
    pub async fn profile(&self, user: UserId) -> Result<(User, Vec<TenantWithRole>), TenantError> {
        let found = self
            .store
            .find_user(user)
            .await?
            .ok_or(TenantError::NotFound)?;
        let tenants = self.store.tenants_of(user).await?;
        Ok((found, tenants))
    }

    /// Activates or deactivates the user with this username or email
    /// (operators only: no route exposes it). A deactivated user's tokens
    /// stop working at once, since every request reads the active flag.
    pub async fn set_active(
        &self,
        username_or_email: &str,
        active: bool,
    ) -> Result<User, TenantError> {
        let user = self
            .store
            .find_user_by_login(username_or_email.trim())
            .await?
            .ok_or(TenantError::NotFound)?;
        self.store.set_active(user.id, active).await?;
        Ok(User {
            is_active: active,
            ..user
        })
    }

    /// The caller's tenants.
    pub async fn tenants(&self, user: UserId) -> Result<Vec<TenantWithRole>, TenantError> {
        Ok(self.store.tenants_of(user).await?)
    }

    /// Creates a tenant owned by `user`. Without a slug one is derived from the name.
    pub async fn create_tenant(
        &self,
        user: UserId,
        name: &str,
        slug: Option<&str>,
    ) -> Result<TenantWithRole, TenantError> {
        let name = TenantName::parse(name).map_err(|e| TenantError::Invalid(vec![e]))?;
        let now = self.clock.now();
        let make = |slug: Slug| NewTenant {
            id: TenantId::new(),
            slug,
            name: name.clone(),
            created_at: now,
        };
        if let Some(slug) = slug {
            let slug = Slug::parse(slug).map_err(|e| TenantError::Invalid(vec![e]))?;
            let tenant = self.store.create_tenant(make(slug), user).await?;
            return Ok(owned(tenant));
        }
        let base = Slug::derive_base(name.as_str());
        for attempt in 0..6 {
            let Some(slug) = candidate_slug(&base, attempt) else {
                continue;
            };
            match self.store.create_tenant(make(slug), user).await {
                Ok(tenant) => return Ok(owned(tenant)),
                Err(AccountError::SlugTaken) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(TenantError::SlugTaken)
    }

    /// Members of the caller's tenant (any member may list).
    pub async fn members(&self, caller: &Caller) -> Result<Vec<Member>, TenantError> {
        let (tenant, _) = acting_tenant(caller)?;
        Ok(self.store.members(tenant).await?)
    }

    /// Adds a member: owners add any role, admins any role but owner.
    pub async fn add_member(
        &self,
        caller: &Caller,
        username_or_email: &str,
        role: Role,
    ) -> Result<Member, TenantError> {
        let (tenant, caller_role) = acting_tenant(caller)?;
        let allowed =
            caller_role == Role::Owner || (caller_role == Role::Admin && role != Role::Owner);
        if !allowed {
            return Err(TenantError::Forbidden);
        }
        let user = self
            .store
            .find_user_by_login(username_or_email.trim())
            .await?
            .ok_or(TenantError::NotFound)?;
        Ok(self
            .store
            .add_member(tenant, user.id, role, self.clock.now())
            .await?)
    }

    /// Changes a member's role (owners only; one owner always kept).
    pub async fn change_role(
        &self,
        caller: &Caller,
        change: MemberChange,
    ) -> Result<Member, TenantError> {
        let (tenant, caller_role) = acting_tenant(caller)?;
        if caller_role != Role::Owner {
            return Err(TenantError::Forbidden);
        }
        Ok(self
            .store
            .change_role(tenant, change.user_id, change.role)
            .await?)
    }

    /// Removes a member (owners only; one owner always kept).
    pub async fn remove_member(&self, caller: &Caller, user: UserId) -> Result<(), TenantError> {
        let (tenant, caller_role) = acting_tenant(caller)?;
        if caller_role != Role::Owner {
            return Err(TenantError::Forbidden);
        }
        Ok(self.store.remove_member(tenant, user).await?)
    }
}

fn owned(tenant: Tenant) -> TenantWithRole {
    TenantWithRole {
        tenant,
        role: Role::Owner,
    }
}
