//! Registration: a user, their personal tenant and the owner membership.

use agents_domain::FieldError;
use agents_domain::account::{
    AccountError, DisplayName, Email, NewTenant, NewUser, Password, Role, Slug, Tenant, TenantName,
    User, Username,
};
use agents_domain::{StoreError, TenantId, UserId};

use super::AccountService;

/// A registration, parsed (by [`RegisterInput::parse`], at the edge).
#[derive(Debug, Clone)]
pub struct RegisterInput {
    /// Login name.
    pub username: Username,
    /// Email.
    pub email: Email,
    /// Password.
    pub password: Password,
    /// Optional display name.
    pub display_name: Option<DisplayName>,
}

impl RegisterInput {
    /// Parses what a client sent, listing every invalid field. A blank
    /// display name counts as none.
    pub fn parse(
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let username = Username::parse(username).map_err(|e| errors.push(e)).ok();
        let email = Email::parse(email).map_err(|e| errors.push(e)).ok();
        let password = Password::parse(password).map_err(|e| errors.push(e)).ok();
        let display_name = match display_name.map(str::trim).filter(|d| !d.is_empty()) {
            Some(name) => DisplayName::parse(name).map_err(|e| errors.push(e)).ok(),
            None => None,
        };
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) if errors.is_empty() => Ok(Self {
                username,
                email,
                password,
                display_name,
            }),
            _ => Err(errors),
        }
    }
}

/// A new account.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The user.
    pub user: User,
    /// Their personal tenant.
    pub tenant: Tenant,
    /// Always `Owner`.
    pub role: Role,
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Invalid fields (all of them listed).
    #[error("invalid registration")]
    Invalid(Vec<FieldError>),
    /// The username is taken.
    #[error("username is already taken")]
    UsernameTaken,
    /// The email is taken.
    #[error("email is already registered")]
    EmailTaken,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attempts at a free slug before giving up (random suffixes make a clash
/// after the first retry vanishingly rare).
pub(super) const SLUG_ATTEMPTS: usize = 6;

impl AccountService {
    /// Registers a user with a personal tenant they own.
    pub async fn register(&self, input: RegisterInput) -> Result<Registered, RegisterError> {
        let RegisterInput {
            username,
            email,
            password,
            display_name,
        } = input;
        let password_hash = self.hasher.hash(&password).await?;
        let now = self.clock.now();
        let base = Slug::derive_base(username.as_str());
        let tenant_name =
            TenantName::parse(username.as_str()).map_err(|e| RegisterError::Invalid(vec![e]))?;
        for attempt in 0..SLUG_ATTEMPTS {
            let Some(slug) = candidate_slug(&base, attempt) else {
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
            let tenant = NewTenant {
                id: TenantId::new(),
                slug,
                name: tenant_name.clone(),
                created_at: now,
            };
            match self.store.register(user, tenant).await {
                Ok((user, tenant)) => {
                    tracing::info!(user_id = %user.id, tenant_id = %tenant.id, "user registered");
                    return Ok(Registered {
                        user,
                        tenant,
                        role: Role::Owner,
                    });
                }
                Err(AccountError::SlugTaken) => continue,
                Err(AccountError::UsernameTaken) => return Err(RegisterError::UsernameTaken),
                Err(AccountError::EmailTaken) => return Err(RegisterError::EmailTaken),
                Err(AccountError::Store(e)) => return Err(RegisterError::Store(e)),
                Err(other) => {
                    return Err(RegisterError::Store(StoreError::other(other.to_string())));
                }
            }
        }
        Err(RegisterError::Store(StoreError::Other(
            "no free tenant slug after several attempts".into(),
        )))
    }
}

/// The slug to try on `attempt`: the base first (skipped when reserved),
/// then the base with a random suffix.
pub(super) fn candidate_slug(base: &str, attempt: usize) -> Option<Slug> {
    if attempt == 0 {
        return Slug::parse(base).ok();
    }
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    Slug::parse(&format!("{}-{suffix}", base.trim_end_matches('-'))).ok()
}
