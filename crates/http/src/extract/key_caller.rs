//! A request authenticated by an API key: the key checked, its scope for
//! the route checked, and its tenant the only one it may name.

use agents_application::accounts::Caller;
use agents_domain::account::TenantRef;

use super::BearerToken;
use super::key_access;
use crate::error::ApiError;
use crate::state::AppState;

/// What a key naming a tenant other than its own is told.
const OTHER_TENANT: &str =
    "This API key belongs to another tenant; send no X-Tenant-Id or its own.";

/// The caller for the key in `token`, refused (403) when the route is
/// outside its scopes or `named` is a tenant other than the key's.
pub(super) async fn in_tenant(
    state: &AppState,
    token: &BearerToken,
    named: Option<&TenantRef>,
) -> Result<Caller, ApiError> {
    let caller = state.api_keys.authenticate(&token.0).await?;
    key_access::check(&caller, token.1)?;
    let own = caller.tenant.as_ref().map(|(t, _)| t);
    let same = match (named, own) {
        (None | Some(TenantRef::Default), _) => true,
        (Some(TenantRef::Id(id)), Some(own)) => own.id == *id,
        (Some(TenantRef::Slug(slug)), Some(own)) => own.slug == *slug,
        (Some(_), None) => false,
    };
    if !same {
        return Err(ApiError::forbidden(OTHER_TENANT));
    }
    Ok(caller)
}
