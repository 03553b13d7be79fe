//! `/api/v1/auth`: register, token, refresh, logout, me.

use actix_web::{HttpResponse, get, post, web};
use agents_application::accounts::{RegisterInput, TokenPair};
use agents_domain::account::TenantWithRole;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{AuthUser, ClientAddr, Json};
use crate::ratelimit::ClientRateLimited;
use crate::state::AppState;

/// Registration body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3-50 characters of `[A-Za-z0-9_.-]`.
    #[schema(min_length = 3, max_length = 50, pattern = r"^[A-Za-z0-9_.-]+$")]
    pub username: String,
    /// A valid email address (at most 254 characters).
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8-128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// Optional display name: 1-128 characters after trimming.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A user as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the account is active.
    pub is_active: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A tenant with the caller's role.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantBody {
    /// Tenant id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// The caller's role.
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// A role in a tenant: `owner` > `admin` > `viewer`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// Full control.
    Owner,
    /// Manages members (not owners) and billing.
    Admin,
    /// Reads the tenant's data.
    Viewer,
}

impl From<&TenantWithRole> for TenantBody {
    fn from(t: &TenantWithRole) -> Self {
        Self {
            id: t.tenant.id.to_string(),
            slug: t.tenant.slug.clone(),
            name: t.tenant.name.clone(),
            role: t.role.as_str().to_owned(),
        }
    }
}

/// Registration result.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The new user.
    pub user: UserBody,
    /// Their personal tenant (role `owner`).
    pub tenant: TenantBody,
}

/// Login body: username or email, and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Username or email.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A refresh token in a body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The opaque refresh token.
    pub refresh_token: String,
}

/// Issued tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(pattern = "^bearer$")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use refresh token.
    pub refresh_token: String,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
        }
    }
}

/// `me` data.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeData {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// The user's tenants and roles.
    pub tenants: Vec<TenantBody>,
    /// The verified token's claims.
    #[schema(value_type = Object)]
    pub token_payload: serde_json::Value,
}

/// `me` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// Always true.
    pub success: bool,
    /// Fixed message.
    pub message: &'static str,
    /// The data.
    pub data: MeData,
}

/// Creates an account and its personal tenant.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 409, body = ErrorEnvelope, description = "username or email taken"),
        (status = 422, body = ErrorEnvelope, description = "invalid fields"),
        (status = 429, body = ErrorEnvelope, description = "too many requests from this address; see Retry-After"),
    )
)]
#[post("/auth/register")]
async fn register(
    _limited: ClientRateLimited,
    state: web::Data<AppState>,
    body: Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let input = RegisterInput::parse(
        &body.username,
        &body.email,
        &body.password,
        body.display_name.as_deref(),
    )
    .map_err(ApiError::validation)?;
    let registered = state.accounts.register(input).await?;
    let tenant = TenantWithRole {
        tenant: registered.tenant,
        role: registered.role,
    };
    Ok(HttpResponse::Created().json(RegisterResponse {
        user: UserBody {
            id: registered.user.id.to_string(),
            username: registered.user.username,
            email: registered.user.email,
            display_name: registered.user.display_name,
            is_active: registered.user.is_active,
            created_at: registered.user.created_at,
        },
        tenant: TenantBody::from(&tenant),
    }))
}

/// Logs in with username (or email) and password.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorEnvelope, description = "incorrect username or password"),
        (status = 429, body = ErrorEnvelope, description = "too many failures, or too many requests from this address; see Retry-After"),
    )
)]
#[post("/auth/token")]
async fn token(
    _limited: ClientRateLimited,
    state: web::Data<AppState>,
    client: ClientAddr,
    body: Json<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let pair = state
        .accounts
        .login(&body.username, &body.password, &client.0)
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(pair)))
}

/// Exchanges a refresh token for a new pair (the old one stops working).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope, description = "too many requests from this address; see Retry-After"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    _limited: ClientRateLimited,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let pair = state.accounts.refresh(&body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(pair)))
}

/// Revokes every refresh token of this login.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204),
        (status = 429, body = ErrorEnvelope, description = "too many requests from this address; see Retry-After"),
    )
)]
#[post("/auth/logout")]
async fn logout(
    _limited: ClientRateLimited,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    state.accounts.logout(&body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller, their tenants and their token's claims.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorEnvelope))
)]
#[get("/auth/me")]
async fn me(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let caller = caller.0;
    let (user, tenants) = state.accounts.profile(caller.user_id).await?;
    Ok(HttpResponse::Ok().json(MeResponse {
        success: true,
        message: "User information retrieved successfully",
        data: MeData {
            user_id: user.id.to_string(),
            username: user.username,
            email: user.email,
            tenants: tenants.iter().map(TenantBody::from).collect(),
            token_payload: serde_json::to_value(&caller.claims).unwrap_or_default(),
        },
    }))
}

/// Mounts the auth routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(token)
        .service(refresh)
        .service(logout)
        .service(me);
}
