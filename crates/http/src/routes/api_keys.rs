//! `/api/v1/tenants/{tenant_id}/api-keys`: a tenant's API keys, managed by
//! its owners and admins (never by a key).

use actix_web::{HttpResponse, delete, get, post, web};
use agents_application::api_keys::CreateKeyInput;
use agents_domain::api_key::{ApiKey, KeyUsage};
use agents_domain::{ApiKeyId, FieldError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{BearerToken, Json, path_member};
use crate::state::AppState;

/// A scope a key may carry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum ScopeName {
    /// Chat, stream and runs.
    #[serde(rename = "chat")]
    Chat,
    /// List, search and read conversations.
    #[serde(rename = "conversations:read")]
    ConversationsRead,
    /// Delete conversations.
    #[serde(rename = "conversations:write")]
    ConversationsWrite,
    /// Read billing.
    #[serde(rename = "billing:read")]
    BillingRead,
}

/// New key body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    /// A label: 1-100 characters after trimming.
    pub name: String,
    /// Scopes (default `["chat","conversations:read"]`).
    #[serde(default)]
    #[schema(value_type = Option<Vec<ScopeName>>)]
    pub scopes: Option<Vec<String>>,
    /// When the key stops working (RFC 3339, in the future).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Requests per minute with this key (≥ 1; absent: none of its own).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub rate_limit_per_minute: Option<i64>,
    /// Chat turns per calendar month, UTC (≥ 1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per calendar month, UTC (≥ 1).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub monthly_token_limit: Option<i64>,
}

/// A key's use this calendar month.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyUsageBody {
    /// Chat turns.
    pub messages: i64,
    /// Model tokens.
    pub tokens: i64,
}

/// A key as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody {
    /// Key id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The key's first 12 characters.
    pub prefix: String,
    /// Scopes.
    #[schema(value_type = Vec<ScopeName>)]
    pub scopes: Vec<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Requests per minute, if limited.
    pub rate_limit_per_minute: Option<u32>,
    /// Chat turns per month, if limited.
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per month, if limited.
    pub monthly_token_limit: Option<i64>,
    /// Who created it (`null` for operators' keys).
    pub created_by: Option<String>,
    /// Last request with it (to the minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// This calendar month's use.
    pub usage: KeyUsageBody,
}

/// A new key: the listing's fields and the secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyBody {
    /// Key id.
    pub id: String,
    /// Label.
    pub name: String,
    /// The key's first 12 characters.
    pub prefix: String,
    /// The key: `agk_` and 43 URL-safe characters. Store it now; it is
    /// never shown again.
    pub key: String,
    /// Scopes.
    #[schema(value_type = Vec<ScopeName>)]
    pub scopes: Vec<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Requests per minute, if limited.
    pub rate_limit_per_minute: Option<u32>,
    /// Chat turns per month, if limited.
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per month, if limited.
    pub monthly_token_limit: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
}

fn scope_names(key: &ApiKey) -> Vec<String> {
    key.scopes.iter().map(|s| s.as_str().to_owned()).collect()
}

fn listed(key: ApiKey, usage: KeyUsage) -> ApiKeyBody {
    ApiKeyBody {
        id: key.id.to_string(),
        scopes: scope_names(&key),
        name: key.name,
        prefix: key.prefix,
        created_at: key.created_at,
        expires_at: key.expires_at,
        rate_limit_per_minute: key.rate_limit_per_minute,
        monthly_message_limit: key.monthly_message_limit,
        monthly_token_limit: key.monthly_token_limit,
        created_by: key.created_by.map(|u| u.to_string()),
        last_used_at: key.last_used_at,
        revoked_at: key.revoked_at,
        usage: KeyUsageBody {
            messages: usage.messages,
            tokens: usage.tokens,
        },
    }
}

/// Creates a key (owners and admins); its secret is in this answer only.
#[utoipa::path(
    tag = "api-keys",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKeyBody), (status = 403, body = ErrorEnvelope, description = "not an owner or admin, or called with a key"), (status = 422, body = ErrorEnvelope))
)]
#[post("/tenants/{tenant_id}/api-keys")]
async fn create_key(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
    body: Json<CreateKeyRequest>,
) -> ApiResult<HttpResponse> {
    let caller = path_member(&state, &token, &path).await?;
    let body = body.into_inner();
    let input = CreateKeyInput {
        name: body.name,
        scopes: body.scopes,
        expires_at: body.expires_at,
        rate_limit_per_minute: body.rate_limit_per_minute,
        monthly_message_limit: body.monthly_message_limit,
        monthly_token_limit: body.monthly_token_limit,
    };
    let created = state.api_keys.create(&caller, input).await?;
    let key = created.key;
    Ok(HttpResponse::Created().json(CreatedKeyBody {
        id: key.id.to_string(),
        scopes: scope_names(&key),
        name: key.name,
        prefix: key.prefix,
        key: created.secret,
        created_at: key.created_at,
        expires_at: key.expires_at,
        rate_limit_per_minute: key.rate_limit_per_minute,
        monthly_message_limit: key.monthly_message_limit,
        monthly_token_limit: key.monthly_token_limit,
        created_by: key.created_by.map(|u| u.to_string()),
    }))
}

/// The tenant's keys, newest first, with this month's use (owners and admins).
#[utoipa::path(
    tag = "api-keys",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    responses((status = 200, body = Vec<ApiKeyBody>), (status = 403, body = ErrorEnvelope))
)]
#[get("/tenants/{tenant_id}/api-keys")]
async fn list_keys(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let caller = path_member(&state, &token, &path).await?;
    let keys = state.api_keys.list(&caller).await?;
    Ok(HttpResponse::Ok().json(
        keys.into_iter()
            .map(|(key, usage)| listed(key, usage))
            .collect::<Vec<_>>(),
    ))
}

/// Revokes a key: it stops working at once, on every replica (owners and admins).
#[utoipa::path(
    tag = "api-keys",
    security(("bearer" = [])),
    params(
        ("tenant_id" = String, Path, description = "Tenant id or slug"),
        ("key_id" = String, Path, description = "Key id (a UUID)", format = Uuid),
    ),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
#[delete("/tenants/{tenant_id}/api-keys/{key_id}")]
async fn revoke_key(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (tenant, key_id) = path.into_inner();
    let caller = path_member(&state, &token, &tenant).await?;
    let id = uuid::Uuid::try_parse(&key_id)
        .map(ApiKeyId::from_uuid)
        .map_err(|_| ApiError::validation(vec![FieldError::new("key_id", "must be a UUID")]))?;
    state.api_keys.revoke(&caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the key routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_key)
        .service(list_keys)
        .service(revoke_key);
}
