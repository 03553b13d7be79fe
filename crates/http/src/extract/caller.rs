//! The bearer token and the authenticated caller.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use agents_application::accounts::Caller;
use agents_domain::TenantId;
use agents_domain::account::TenantRef;

use crate::error::ApiError;
use crate::state::AppState;

/// The raw token of `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

fn bearer(req: &HttpRequest) -> Result<BearerToken, ApiError> {
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
    Ok(BearerToken(token.to_owned()))
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer(req))
    }
}

/// Reads a tenant reference: a UUID is an id, anything else a slug, empty
/// means the default tenant.
pub fn tenant_ref(value: &str) -> TenantRef {
    let value = value.trim();
    if value.is_empty() {
        return TenantRef::Default;
    }
    match uuid::Uuid::try_parse(value) {
        Ok(id) => TenantRef::Id(TenantId::from_uuid(id)),
        Err(_) => TenantRef::Slug(value.to_lowercase()),
    }
}

type BoxedFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn authenticate(req: &HttpRequest, tenant: TenantRef) -> BoxedFuture<Caller> {
    let token = bearer(req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    Box::pin(async move {
        let token = token?;
        let state = state.ok_or_else(|| ApiError::internal(&"application state missing"))?;
        Ok(state.accounts.authenticate(&token.0, &tenant).await?)
    })
}

/// An authenticated caller in the tenant named by `X-Tenant-Id` (or their
/// default tenant). `X-Tenant-Role` is never read.
#[derive(Debug, Clone)]
pub struct TenantCaller(pub Caller);

impl FromRequest for TenantCaller {
    type Error = ApiError;
    type Future = BoxedFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tenant = req
            .headers()
            .get("x-tenant-id")
            .and_then(|v| v.to_str().ok())
            .map(tenant_ref)
            .unwrap_or(TenantRef::Default);
        let explicit = tenant != TenantRef::Default;
        let fut = authenticate(req, tenant);
        Box::pin(async move {
            let caller = fut.await?;
            if caller.tenant.is_none() {
                let message = if explicit {
                    "You are not a member of this tenant."
                } else {
                    "You belong to no tenant; create one or ask to be added."
                };
                return Err(ApiError::forbidden(message));
            }
            Ok(TenantCaller(caller))
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
        let fut = authenticate(req, TenantRef::Default);
        Box::pin(async move { Ok(AuthUser(fut.await?)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_refs_are_ids_when_uuid_shaped() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            tenant_ref(&id.to_string()),
            TenantRef::Id(TenantId::from_uuid(id))
        );
        assert_eq!(tenant_ref("Acme"), TenantRef::Slug("acme".into()));
        assert_eq!(tenant_ref("  "), TenantRef::Default);
    }

    #[test]
    fn only_well_formed_bearer_headers_pass() {
        let ok = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "bearer abc.def"))
            .to_http_request();
        assert_eq!(bearer(&ok).map(|b| b.0).ok(), Some("abc.def".into()));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            let req = actix_web::test::TestRequest::default()
                .insert_header(("Authorization", bad))
                .to_http_request();
            assert!(bearer(&req).is_err(), "{bad}");
        }
        assert!(bearer(&actix_web::test::TestRequest::default().to_http_request()).is_err());
    }
}
