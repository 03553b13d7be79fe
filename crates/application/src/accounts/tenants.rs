//! Tenants and memberships, with roles checked on the server.

use std::time::Duration;

use agents_domain::FieldError;
use agents_domain::account::{
    AccountError, Member, NewTenant, Role, Slug, Tenant, TenantName, TenantWithRole, User,
};
use agents_domain::limiter::RateDecision;
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
    /// 409: the user already owns the most tenants allowed.
    #[error("you already own {max} tenants, the most allowed")]
    LimitReached {
        /// `MAX_TENANTS_PER_USER`.
        max: u32,
    },
    /// 429: the user created tenants too fast.
    #[error("too many tenants created; retry later")]
    RateLimited {
        /// When the next creation is allowed.
        retry_after: Duration,
    },
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
            // The store knows only that a limit was hit; callers that know
            // it map this themselves.
            AccountError::TenantLimitReached => TenantError::LimitReached { max: 0 },
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

    /// Creates a tenant owned by `user`. Without a slug one is derived
    /// from the name. Refused past `tenant_creates_per_hour` creations per
    /// user, and when the user would own more than `max_tenants_per_user`
    /// tenants (checked by the store in the creating transaction).
    pub async fn create_tenant(
        &self,
        user: UserId,
        name: &str,
        slug: Option<&str>,
    ) -> Result<TenantWithRole, TenantError> {
        let name = TenantName::parse(name).map_err(|e| TenantError::Invalid(vec![e]))?;
        self.count_tenant_creation(user).await?;
        let max = self.settings.max_tenants_per_user;
        let max_owned = (max > 0).then_some(max);
        let limited = |err: AccountError| match err {
            AccountError::TenantLimitReached => TenantError::LimitReached { max },
            other => other.into(),
        };
        let now = self.clock.now();
        let make = |slug: Slug| NewTenant {
            id: TenantId::new(),
            slug,
            name: name.clone(),
            created_at: now,
        };
        if let Some(slug) = slug {
            let slug = Slug::parse(slug).map_err(|e| TenantError::Invalid(vec![e]))?;
            let tenant = self
                .store
                .create_tenant(make(slug), user, max_owned)
                .await
                .map_err(limited)?;
            return Ok(owned(tenant));
        }
        let base = Slug::derive_base(name.as_str());
        for attempt in 0..6 {
            let Some(slug) = candidate_slug(&base, attempt) else {
                continue;
            };
            match self.store.create_tenant(make(slug), user, max_owned).await {
                Ok(tenant) => return Ok(owned(tenant)),
                Err(AccountError::SlugTaken) => continue,
                Err(other) => return Err(limited(other)),
            }
        }
        Err(TenantError::SlugTaken)
    }

    /// Counts one tenant creation by `user` in the shared limiter. A
    /// limiter that does not answer lets the creation through (logged):
    /// the ownership limit still holds, and an outage of Redis must not
    /// stop sign-ups of teams.
    async fn count_tenant_creation(&self, user: UserId) -> Result<(), TenantError> {
        let per_hour = self.settings.tenant_creates_per_hour;
        if per_hour == 0 {
            return Ok(());
        }
        let key = format!("tenant-create:{user}");
        match self
            .limiter
            .hit(&key, per_hour, Duration::from_secs(3600))
            .await
        {
            Ok(RateDecision::Allowed { .. }) => Ok(()),
            Ok(RateDecision::Limited { retry_after }) => {
                Err(TenantError::RateLimited { retry_after })
            }
            Err(error) => {
                tracing::warn!(%user, %error, "tenant creation limiter unavailable; not counted");
                Ok(())
            }
        }
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
