//! `/api/v1/tenants`: the caller's tenants and their members.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use agents_application::accounts::{MemberChange, TenantError};
use agents_domain::account::{Member, Role};
use agents_domain::{FieldError, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::{RoleName, TenantBody};
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{AuthUser, Json, PathTenant};
use crate::state::AppState;

/// New tenant body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTenantRequest {
    /// Display name: 1-128 characters after trimming.
    pub name: String,
    /// Optional slug (derived from the name when absent): 3-64 characters
    /// of `[a-z0-9-]`, not starting or ending with `-`, not reserved.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")]
    pub slug: Option<String>,
}

/// Add-member body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// The user to add.
    pub username_or_email: String,
    /// `owner`, `admin` or `viewer`.
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// Role-change body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    /// `owner`, `admin` or `viewer`.
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// A member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Role.
    #[schema(value_type = RoleName)]
    pub role: String,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

impl From<Member> for MemberBody {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.to_string(),
            username: m.username,
            email: m.email,
            role: m.role.as_str().to_owned(),
            joined_at: m.joined_at,
        }
    }
}

fn parse_role(value: &str) -> Result<Role, ApiError> {
    Role::parse(value).map_err(|e| ApiError::validation(vec![e]))
}

/// A user id in its hyphenated form (the form ids are shown in), any case.
fn parse_user_id(value: &str) -> Result<UserId, ApiError> {
    let invalid = || ApiError::validation(vec![FieldError::new("user_id", "must be a UUID")]);
    if value.len() != 36 {
        return Err(invalid());
    }
    uuid::Uuid::try_parse(value)
        .map(UserId::from_uuid)
        .map_err(|_| invalid())
}

/// The caller's tenants and roles.
#[utoipa::path(tag = "tenants", security(("bearer" = [])), responses((status = 200, body = Vec<TenantBody>), (status = 401, body = ErrorEnvelope)))]
#[get("/tenants")]
async fn list_tenants(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let tenants = state.accounts.tenants(caller.0.user_id).await?;
    Ok(HttpResponse::Ok().json(tenants.iter().map(TenantBody::from).collect::<Vec<_>>()))
}

/// Creates a tenant owned by the caller (at most `MAX_TENANTS_PER_USER`
/// owned, `RATE_LIMIT_TENANT_CREATE_PER_HOUR` created per hour).
#[utoipa::path(
    tag = "tenants",
    security(("bearer" = [])),
    request_body = CreateTenantRequest,
    responses((status = 201, body = TenantBody), (status = 409, body = ErrorEnvelope, description = "Slug taken, or the caller already owns MAX_TENANTS_PER_USER tenants"), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope, description = "RATE_LIMIT_TENANT_CREATE_PER_HOUR reached"))
)]
#[post("/tenants")]
async fn create_tenant(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: Json<CreateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let tenant = state
        .accounts
        .create_tenant(caller.0.user_id, &body.name, body.slug.as_deref())
        .await?;
    Ok(HttpResponse::Created().json(TenantBody::from(&tenant)))
}

/// Members of a tenant the caller belongs to.
#[utoipa::path(
    tag = "tenants",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    responses((status = 200, body = Vec<MemberBody>), (status = 403, body = ErrorEnvelope))
)]
#[get("/tenants/{tenant_id}/members")]
async fn list_members(state: web::Data<AppState>, tenant: PathTenant) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let members = state.accounts.members(&caller).await?;
    Ok(HttpResponse::Ok().json(
        members
            .into_iter()
            .map(MemberBody::from)
            .collect::<Vec<_>>(),
    ))
}

/// Adds a member (owners; admins for non-owner roles).
#[utoipa::path(
    tag = "tenants",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body = AddMemberRequest,
    responses((status = 201, body = MemberBody), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "already a member"), (status = 422, body = ErrorEnvelope, description = "invalid fields, or `username_or_email` names no user"))
)]
#[post("/tenants/{tenant_id}/members")]
async fn add_member(
    state: web::Data<AppState>,
    tenant: PathTenant,
    body: Json<AddMemberRequest>,
) -> ApiResult<HttpResponse> {
    let role = parse_role(&body.role)?;
    let caller = tenant.member().await?;
    // The tenant in the path exists (the caller is a member); the user the
    // body names does not: a field of the body is wrong, not the resource.
    let member = match state
        .accounts
        .add_member(&caller, &body.username_or_email, role)
        .await
    {
        Err(TenantError::NotFound) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "username_or_email",
                "names no user",
            )]));
        }
        other => other?,
    };
    Ok(HttpResponse::Created().json(MemberBody::from(member)))
}

/// Changes a member's role (owners only; one owner always kept).
#[utoipa::path(
    tag = "tenants",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = ChangeRoleRequest,
    responses((status = 200, body = MemberBody), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope))
)]
#[patch("/tenants/{tenant_id}/members/{user_id}")]
async fn change_role(
    state: web::Data<AppState>,
    tenant: PathTenant,
    path: web::Path<(String, String)>,
    body: Json<ChangeRoleRequest>,
) -> ApiResult<HttpResponse> {
    let (_, user) = path.into_inner();
    let role = parse_role(&body.role)?;
    let user_id = parse_user_id(&user)?;
    let caller = tenant.member().await?;
    let member = state
        .accounts
        .change_role(&caller, MemberChange { user_id, role })
        .await?;
    Ok(HttpResponse::Ok().json(MemberBody::from(member)))
}

/// Removes a member (owners only; one owner always kept).
#[utoipa::path(
    tag = "tenants",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug"), ("user_id" = String, Path, description = "Member's user id")),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope))
)]
#[delete("/tenants/{tenant_id}/members/{user_id}")]
async fn remove_member(
    state: web::Data<AppState>,
    tenant: PathTenant,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, user) = path.into_inner();
    let user_id = parse_user_id(&user)?;
    let caller = tenant.member().await?;
    state.accounts.remove_member(&caller, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the tenant routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tenants)
        .service(create_tenant)
        .service(list_members)
        .service(add_member)
        .service(change_role)
        .service(remove_member);
}
