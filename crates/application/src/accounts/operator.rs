//! Operators' account commands (no HTTP, no caller role): a user with a
//! shared tenant in one step, tenants listed, created and given members.
//! Every failure names what is wrong, and no command leaves half its work.

use agents_domain::account::{
    AccountError, Member, NewTenant, NewUser, Role, Slug, Tenant, TenantName, TenantRef, User,
};
use agents_domain::{FieldError, StoreError, TenantId, UserId};

use super::AccountService;
use super::register::{RegisterError, RegisterInput, Registered, SLUG_ATTEMPTS, candidate_slug};

/// Why an operator command failed; `Display` is the one line printed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Invalid arguments.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The username is registered already.
    #[error("username {0:?} is taken")]
    UsernameTaken(String),
    /// The email is registered already.
    #[error("email {0:?} is already registered")]
    EmailTaken(String),
    /// The slug is used by another tenant.
    #[error("slug {0:?} is taken")]
    SlugTaken(String),
    /// No tenant has this id or slug.
    #[error("no tenant has the id or slug {0:?}")]
    NoSuchTenant(String),
    /// No user has this username or email.
    #[error("no user has the username or email {0:?}")]
    NoSuchUser(String),
    /// The user is already a member of the tenant.
    #[error("{user:?} is already a member of {tenant:?}")]
    AlreadyMember {
        /// The user as named.
        user: String,
        /// The tenant as named.
        tenant: String,
    },
    /// The user is not a member of the tenant.
    #[error("{user:?} is not a member of {tenant:?}")]
    NotAMember {
        /// The user as named.
        user: String,
        /// The tenant as named.
        tenant: String,
    },
    /// The change would leave the tenant without an owner.
    #[error("{0:?} would be left without an owner; add another owner first")]
    LastOwner(String),
    /// The database failed; nothing was changed.
    #[error("the database failed, nothing was changed: {0}")]
    Store(#[from] StoreError),
}

fn describe(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn store(err: AccountError) -> OperatorError {
    match err {
        AccountError::Store(e) => OperatorError::Store(e),
        other => OperatorError::Store(StoreError::other(other.to_string())),
    }
}

/// Reads a tenant reference as operators type it: a UUID is an id, anything
/// else a slug.
pub fn operator_tenant_ref(value: &str) -> TenantRef {
    let value = value.trim();
    match uuid::Uuid::try_parse(value) {
        Ok(id) => TenantRef::Id(TenantId::from_uuid(id)),
        Err(_) => TenantRef::Slug(value.to_lowercase()),
    }
}

impl AccountService {
    /// Registers a user with their personal tenant and, when `shared` names
    /// one, a tenant they own, all in one transaction.
    pub async fn operator_register(
        &self,
        input: RegisterInput,
        shared: Option<(&str, Option<&str>)>,
    ) -> Result<(Registered, Option<Tenant>), OperatorError> {
        let Some((name, slug)) = shared else {
            let registered = self.register(input.clone()).await.map_err(|e| match e {
                RegisterError::Invalid(fields) => OperatorError::Invalid(fields),
                RegisterError::UsernameTaken => {
                    OperatorError::UsernameTaken(input.username.as_str().to_owned())
                }
                RegisterError::EmailTaken => {
                    OperatorError::EmailTaken(input.email.as_str().to_owned())
                }
                RegisterError::Store(e) => OperatorError::Store(e),
            })?;
            return Ok((registered, None));
        };
        let RegisterInput {
            username,
            email,
            password,
            display_name,
        } = input;
        let name = TenantName::parse(name).map_err(|e| OperatorError::Invalid(vec![e]))?;
        let shared_slug = self.free_slug(name.as_str(), slug).await?;
        let password_hash = self.hasher.hash(&password).await?;
        let now = self.clock.now();
        let personal_name =
            TenantName::parse(username.as_str()).map_err(|e| OperatorError::Invalid(vec![e]))?;
        let base = Slug::derive_base(username.as_str());
        for attempt in 0..SLUG_ATTEMPTS {
            let Some(personal_slug) = candidate_slug(&base, attempt) else {
                continue;
            };
            let user = NewUser {
                id: UserId::new(),
                username: username.clone(),
                email: email.clone(),
                display_name: display_name.clone(),
                password_hash: password_hash.clone(),
                created_at: now,
            };
            let tenant = |slug: Slug, name: TenantName| NewTenant {
                id: TenantId::new(),
                slug,
                name,
                created_at: now,
            };
            let outcome = self
                .store
                .register_with_tenant(
                    user,
                    tenant(personal_slug, personal_name.clone()),
                    tenant(shared_slug.clone(), name.clone()),
                )
                .await;
            match outcome {
                Ok((user, home, extra)) => {
                    let registered = Registered {
                        user,
                        tenant: home,
                        role: Role::Owner,
                    };
                    return Ok((registered, Some(extra)));
                }
                Err(AccountError::SlugTaken) => {
                    // Ours or theirs: a shared slug taken meanwhile is final.
                    if self
                        .store
                        .slug_exists(shared_slug.as_str())
                        .await
                        .map_err(store)?
                    {
                        return Err(OperatorError::SlugTaken(shared_slug.as_str().to_owned()));
                    }
                }
                Err(AccountError::UsernameTaken) => {
                    return Err(OperatorError::UsernameTaken(username.as_str().to_owned()));
                }
                Err(AccountError::EmailTaken) => {
                    return Err(OperatorError::EmailTaken(email.as_str().to_owned()));
                }
                Err(other) => return Err(store(other)),
            }
        }
        Err(OperatorError::Store(StoreError::other(
            "no free personal tenant slug after several attempts",
        )))
    }

    /// The slug for a new tenant: the one asked for (refused when taken or
    /// reserved), else one derived from the name.
    async fn free_slug(&self, name: &str, slug: Option<&str>) -> Result<Slug, OperatorError> {
        if let Some(slug) = slug {
            let wanted = slug.trim().to_lowercase();
            if self.store.slug_exists(&wanted).await.map_err(store)? {
                return Err(OperatorError::SlugTaken(wanted));
            }
            return Slug::parse(&wanted).map_err(|e| OperatorError::Invalid(vec![e]));
        }
        let base = Slug::derive_base(name);
        for attempt in 0..SLUG_ATTEMPTS {
            if let Some(candidate) = candidate_slug(&base, attempt)
                && !self
                    .store
                    .slug_exists(candidate.as_str())
                    .await
                    .map_err(store)?
            {
                return Ok(candidate);
            }
        }
        Err(OperatorError::SlugTaken(base))
    }

    /// Every tenant with its member count.
    pub async fn operator_tenants(&self) -> Result<Vec<(Tenant, u64)>, OperatorError> {
        self.store.list_tenants().await.map_err(store)
    }

    /// The tenant named by id or slug.
    pub async fn operator_tenant(&self, tenant: &str) -> Result<Tenant, OperatorError> {
        self.store
            .find_tenant(&operator_tenant_ref(tenant))
            .await
            .map_err(store)?
            .ok_or_else(|| OperatorError::NoSuchTenant(tenant.to_owned()))
    }

    async fn operator_user(&self, login: &str) -> Result<User, OperatorError> {
        self.store
            .find_user_by_login(login.trim())
            .await
            .map_err(store)?
            .ok_or_else(|| OperatorError::NoSuchUser(login.to_owned()))
    }

    /// Creates a tenant owned by `owner` (no creation rate or ownership
    /// limit: operators are trusted).
    pub async fn operator_create_tenant(
        &self,
        name: &str,
        slug: Option<&str>,
        owner: &str,
    ) -> Result<(Tenant, User), OperatorError> {
        let owner = self.operator_user(owner).await?;
        let name = TenantName::parse(name).map_err(|e| OperatorError::Invalid(vec![e]))?;
        let slug = self.free_slug(name.as_str(), slug).await?;
        let new = NewTenant {
            id: TenantId::new(),
            slug: slug.clone(),
            name,
            created_at: self.clock.now(),
        };
        match self.store.create_tenant(new, owner.id, None).await {
            Ok(tenant) => Ok((tenant, owner)),
            Err(AccountError::SlugTaken) => Err(OperatorError::SlugTaken(slug.as_str().to_owned())),
            Err(AccountError::NotFound) => Err(OperatorError::NoSuchUser(owner.username)),
            Err(other) => Err(store(other)),
        }
    }

    /// Adds `login` to `tenant` with `role`.
    pub async fn operator_add_member(
        &self,
        tenant: &str,
        login: &str,
        role: Role,
    ) -> Result<(Tenant, Member), OperatorError> {
        let found = self.operator_tenant(tenant).await?;
        let user = self.operator_user(login).await?;
        match self
            .store
            .add_member(found.id, user.id, role, self.clock.now())
            .await
        {
            Ok(member) => Ok((found, member)),
            Err(AccountError::AlreadyMember) => Err(OperatorError::AlreadyMember {
                user: login.to_owned(),
                tenant: tenant.to_owned(),
            }),
            Err(AccountError::NotFound) => Err(OperatorError::NoSuchUser(login.to_owned())),
            Err(other) => Err(store(other)),
        }
    }

    /// Removes `login` from `tenant` (never its last owner).
    pub async fn operator_remove_member(
        &self,
        tenant: &str,
        login: &str,
    ) -> Result<(Tenant, User), OperatorError> {
        let found = self.operator_tenant(tenant).await?;
        let user = self.operator_user(login).await?;
        match self.store.remove_member(found.id, user.id).await {
            Ok(()) => Ok((found, user)),
            Err(AccountError::NotFound) => Err(OperatorError::NotAMember {
                user: login.to_owned(),
                tenant: tenant.to_owned(),
            }),
            Err(AccountError::LastOwner) => Err(OperatorError::LastOwner(tenant.to_owned())),
            Err(other) => Err(store(other)),
        }
    }
}
