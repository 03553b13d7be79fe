//! The bearer token and the authenticated caller.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use agents_application::accounts::Caller;
use agents_application::api_keys::looks_like_key;
use agents_domain::TenantId;
use agents_domain::account::TenantRef;
use agents_domain::api_key::Scope;
use agents_domain::conversation::ConversationScope;

use super::key_caller;
use super::required_scope;
use crate::error::ApiError;
use crate::state::AppState;

/// The credential a request presents: the token of `Authorization: Bearer
/// <token>` (a JWT or an API key), or an `X-API-Key` header; with the scope
/// an API key needs on the route matched (`None`: closed to keys).
#[derive(Clone)]
pub struct BearerToken(pub String, pub Option<Scope>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BearerToken")
            .field(&"<redacted>")
            .field(&self.1)
            .finish()
    }
}

/// The credential and the scope the route needs from a key.
fn credential(req: &HttpRequest) -> Result<BearerToken, ApiError> {
    let needed = req
        .match_pattern()
        .and_then(|pattern| required_scope(req.method(), &pattern));
    if let Some(key) = req.headers().get("x-api-key") {
        let key = key.to_str().map(str::trim).unwrap_or_default();
        if key.is_empty() {
            return Err(ApiError::unauthorized(
                "The X-API-Key header is empty; send the key it was created with.",
            ));
        }
        return Ok(BearerToken(key.to_owned(), needed));
    }
    bearer(req).map(|token| BearerToken(token, needed))
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let missing = || {
        ApiError::unauthorized(
            "Send an access token in the header `Authorization: Bearer <token>`.",
        )
    };
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token.to_owned())
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(credential(req))
    }
}

/// Longest slug a tenant reference may name (the column's width).
const MAX_SLUG_CHARS: usize = 64;

/// Reads a tenant reference from a header or a path: a UUID is an id, a
/// slug-shaped value (1-64 characters of `[A-Za-z0-9._-]`, wide enough for
/// slugs the Python service made) a slug; `None` for anything else, which
/// callers answer like an unknown tenant (403), never as the default one.
pub fn tenant_ref(value: &str) -> Option<TenantRef> {
    let value = value.trim();
    if let Ok(id) = uuid::Uuid::try_parse(value) {
        return Some(TenantRef::Id(TenantId::from_uuid(id)));
    }
    let slug_shaped = !value.is_empty()
        && value.len() <= MAX_SLUG_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    slug_shaped.then(|| TenantRef::Slug(value.to_lowercase()))
}

/// What a caller who names a tenant that is not theirs (or not a tenant at
/// all) is told.
const NOT_A_MEMBER: &str = "You are not a member of this tenant.";

/// Authenticates the caller as a member of the tenant named by `raw` (a
/// path segment): 401 for a bad token, 403 for a tenant they do not belong
/// to, and the same 403 for a value that names no tenant at all.
pub async fn path_member(
    state: &AppState,
    token: &BearerToken,
    raw: &str,
) -> Result<Caller, ApiError> {
    if looks_like_key(&token.0) {
        return match tenant_ref(raw) {
            Some(tenant) => key_caller::in_tenant(state, token, Some(&tenant)).await,
            None => {
                key_caller::in_tenant(state, token, None).await?;
                Err(ApiError::forbidden(NOT_A_MEMBER))
            }
        };
    }
    match tenant_ref(raw) {
        Some(tenant) => Ok(state.accounts.authenticate(&token.0, &tenant).await?),
        None => {
            state
                .accounts
                .authenticate(&token.0, &TenantRef::Default)
                .await?;
            Err(ApiError::forbidden(NOT_A_MEMBER))
        }
    }
}

/// The tenant named by the path's `{tenant_id}`, with the bearer token
/// (401 at extraction when there is none). The handler asks for
/// [`member`](Self::member) after checking its own input, so a bad body is
/// answered as such whatever the tenant.
pub struct PathTenant {
    token: BearerToken,
    raw: String,
    state: web::Data<AppState>,
}

impl PathTenant {
    /// The caller as a member of the path's tenant: 401 for a bad token,
    /// 403 for a tenant they do not belong to (or no tenant at all).
    pub async fn member(&self) -> Result<Caller, ApiError> {
        path_member(&self.state, &self.token, &self.raw).await
    }
}

impl FromRequest for PathTenant {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tenant = || {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(&"application state missing"))?;
            Ok(PathTenant {
                token: credential(req)?,
                raw: req
                    .match_info()
                    .get("tenant_id")
                    .unwrap_or_default()
                    .to_owned(),
                state,
            })
        };
        ready(tenant())
    }
}

type BoxedFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Authenticates the request's credential in `tenant`: a user's token, or
/// an API key (whose own tenant must be the one named, when one is).
fn authenticate(req: &HttpRequest, tenant: TenantRef, explicit: bool) -> BoxedFuture<Caller> {
    let token = credential(req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let token = token?;
        let state = state.ok_or_else(|| ApiError::internal(&"application state missing"))?;
        if looks_like_key(&token.0) {
            let named = explicit.then_some(&tenant);
            return key_caller::in_tenant(&state, &token, named).await;
        }
        Ok(state.accounts.authenticate(&token.0, &tenant).await?)
    })
}

/// An authenticated caller in the tenant named by `X-Tenant-Id` (or their
/// default tenant), with the conversation scope that tenancy gives them.
/// `X-Tenant-Role` is never read.
#[derive(Debug, Clone)]
pub struct TenantCaller {
    /// Who is calling.
    pub caller: Caller,
    /// The tenant they act in, and whose conversations they see.
    pub scope: ConversationScope,
}

impl FromRequest for TenantCaller {
    type Error = ApiError;
    type Future = BoxedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Absent: the default tenant. Present: it must name a tenant; a value
        // that cannot (not UTF-8, not a UUID or slug) is answered like an
        // unknown tenant, after the token is checked.
        let named = req
            .headers()
            .get("x-tenant-id")
            .map(|v| v.to_str().ok().and_then(tenant_ref));
        let (tenant, explicit, malformed) = match named {
            None => (TenantRef::Default, false, false),
            Some(Some(tenant)) => (tenant, true, false),
            Some(None) => (TenantRef::Default, true, true),
        };
        let fut = authenticate(req, tenant, explicit);
        Box::pin(async move {
            let caller = fut.await?;
            let scope = caller.conversation_scope().filter(|_| !malformed);
            let Some(scope) = scope else {
                let message = if explicit {
                    NOT_A_MEMBER
                } else {
                    "You belong to no tenant; create one or ask to be added."
                };
                return Err(ApiError::forbidden(message));
            };
            Ok(TenantCaller { caller, scope })
        })
    }
}

/// An authenticated caller, whatever their tenants (`me`, tenant list).
#[derive(Debug, Clone)]
pub struct AuthUser(pub Caller);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = BoxedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // No scope covers these routes: a key is refused once known.
        let fut = authenticate(req, TenantRef::Default, false);
        Box::pin(async move { Ok(AuthUser(fut.await?)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_refs_are_ids_when_uuid_shaped_slugs_when_slug_shaped_else_none() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            tenant_ref(&id.to_string()),
            Some(TenantRef::Id(TenantId::from_uuid(id)))
        );
        assert_eq!(tenant_ref("Acme"), Some(TenantRef::Slug("acme".into())));
        assert_eq!(
            tenant_ref("old_slug.v2"),
            Some(TenantRef::Slug("old_slug.v2".into()))
        );
        for bad in ["", "  ", "a b", "tenant;drop", "ténant", &"a".repeat(65)] {
            assert_eq!(tenant_ref(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_well_formed_bearer_headers_pass() {
        let ok = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "bearer abc.def"))
            .to_http_request();
        assert_eq!(bearer(&ok).ok(), Some("abc.def".into()));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            let req = actix_web::test::TestRequest::default()
                .insert_header(("Authorization", bad))
                .to_http_request();
            assert!(bearer(&req).is_err(), "{bad}");
        }
        assert!(bearer(&actix_web::test::TestRequest::default().to_http_request()).is_err());
    }
}
