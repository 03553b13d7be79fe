//! Authentication of a request: token, active user and tenant membership.

use agents_domain::account::{AccessClaims, Role, Tenant, TenantRef, TokenError};
use agents_domain::api_key::ApiKey;
use agents_domain::conversation::ConversationScope;
use agents_domain::{StoreError, UserId};

use super::AccountService;
use super::login::account_to_store;

/// An authenticated caller acting in one tenant.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user_id: UserId,
    /// The verified token's claims.
    pub claims: AccessClaims,
    /// The tenant acted in and the caller's role there; `None` when the
    /// user belongs to no tenant and none was asked for.
    pub tenant: Option<(Tenant, Role)>,
    /// The API key the request was authenticated by, if it was one. The
    /// caller then acts in the key's tenant only, as a viewer, and
    /// `user_id` is the key's id (which matches no user).
    pub api_key: Option<ApiKey>,
}

impl Caller {
    /// The conversation scope of this caller in their tenant.
    pub fn conversation_scope(&self) -> Option<ConversationScope> {
        self.tenant
            .as_ref()
            .map(|(tenant, role)| ConversationScope {
                tenant_id: tenant.id,
                user_id: self.user_id,
                include_unowned: self.api_key.is_none() && role.can_manage(),
                api_key: self.api_key.as_ref().map(|k| k.id),
            })
    }
}

/// Why a request is not authenticated or not allowed in the tenant.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No, malformed, invalid or expired token, or an inactive/unknown user.
    #[error("not authenticated")]
    Unauthenticated,
    /// The tenant asked for is not one the user belongs to (or does not exist).
    #[error("not a member of this tenant")]
    NotAMember,
    /// Infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccountService {
    /// Verifies `token` and reads the user's active flag and membership in
    /// `tenant` in one store call. With `TenantRef::Default` a user without
    /// tenants is still authenticated (`tenant: None`).
    pub async fn authenticate(&self, token: &str, tenant: &TenantRef) -> Result<Caller, AuthError> {
        let claims = self.issuer.verify(token).map_err(|e| match e {
            TokenError::Expired | TokenError::Invalid | TokenError::Signing(_) => {
                AuthError::Unauthenticated
            }
        })?;
        let user_id = uuid::Uuid::parse_str(&claims.sub)
            .map(UserId::from_uuid)
            .map_err(|_| AuthError::Unauthenticated)?;
        let context = self
            .store
            .auth_context(user_id, tenant)
            .await
            .map_err(account_to_store)?
            .ok_or(AuthError::Unauthenticated)?;
        if !context.is_active {
            return Err(AuthError::Unauthenticated);
        }
        if context.tenant.is_none() && *tenant != TenantRef::Default {
            return Err(AuthError::NotAMember);
        }
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        if let Some((t, _)) = &context.tenant {
            tracing::Span::current().record("tenant_id", tracing::field::display(t.id));
        }
        Ok(Caller {
            user_id,
            claims,
            tenant: context.tenant,
            api_key: None,
        })
    }
}
