//! `/api/v1/conversations`: the caller's history in their tenant.

use actix_web::{HttpResponse, delete, get, web};
use agents_application::conversations::page_request;
use agents_domain::conversation::ConversationKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{Query, TenantCaller};
use crate::state::AppState;

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Items per page, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Search.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// Text to find: 1-200 characters after trimming.
    pub q: String,
    /// Maximum results, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A signed query number as the use case's unsigned one: anything below 1
/// becomes 0, which the use case refuses with its own message. Signed on
/// the wire so the document's `int64` is exactly what is accepted.
fn unsigned(value: Option<i64>) -> Option<u64> {
    value.map(|v| u64::try_from(v).unwrap_or(0))
}

/// One line of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationSummaryBody {
    /// Conversation id.
    pub conversation_id: String,
    /// Messages stored.
    pub message_count: i32,
    /// Last message (≤ 120 characters).
    pub last_message: Option<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A search hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitBody {
    /// Conversation id.
    pub conversation_id: String,
    /// Text around the match.
    pub preview: String,
}

/// One message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    /// `user` or `assistant` (`system` and `tool` in adopted histories).
    #[schema(pattern = "^(user|assistant|system|tool)$")]
    pub role: String,
    /// Text.
    pub content: String,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// Agents of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentContextBody {
    /// First agent.
    pub entrypoint: String,
    /// Agent that answered last.
    pub active_agent: Option<String>,
    /// Handoffs so far.
    pub handoff_count: i32,
}

/// A whole conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationBody {
    /// Conversation id.
    pub conversation_id: String,
    /// Messages, oldest first.
    pub messages: Vec<MessageBody>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Agents.
    pub agent_context: AgentContextBody,
    /// The run in flight, to reattach to; null when none.
    pub active_run: Option<ActiveRunBody>,
}

/// A conversation's run in flight.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveRunBody {
    /// The run: follow `/api/v1/chat/runs/{run_id}/events`.
    pub run_id: String,
    /// Always `running`.
    #[schema(pattern = "^running$")]
    pub status: String,
    /// Id of its latest event (resume after it).
    pub last_event_id: u64,
}

fn key(raw: &str) -> ApiResult<ConversationKey> {
    ConversationKey::parse(raw).map_err(|e| ApiError::validation(vec![e]))
}

/// The caller's conversations, newest first; `X-Total-Count` holds the total.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("api_key" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<ConversationSummaryBody>, headers(("X-Total-Count" = u64))), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
#[get("/conversations")]
async fn list(
    state: web::Data<AppState>,
    caller: TenantCaller,
    query: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = page_request(unsigned(query.page), unsigned(query.limit))?;
    let page = state.conversations.list(caller.scope, page).await?;
    let items: Vec<ConversationSummaryBody> = page
        .items
        .into_iter()
        .map(|c| ConversationSummaryBody {
            conversation_id: c.key.to_string(),
            message_count: c.message_count,
            last_message: c.last_message,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", page.total.to_string()))
        .json(items))
}

/// Searches the caller's conversations.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("api_key" = [])),
    params(SearchQuery),
    responses((status = 200, body = Vec<SearchHitBody>), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
#[get("/conversations/search")]
async fn search(
    state: web::Data<AppState>,
    caller: TenantCaller,
    query: Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let hits = state
        .conversations
        .search(caller.scope, &query.q, unsigned(query.limit))
        .await?;
    let body: Vec<SearchHitBody> = hits
        .into_iter()
        .map(|h| SearchHitBody {
            conversation_id: h.key.to_string(),
            preview: h.preview,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One conversation with its messages.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("api_key" = [])),
    params(("conversation_id" = String, Path, description = "Conversation id: 1-255 characters of `[A-Za-z0-9._:-]`", pattern = "^[A-Za-z0-9._:-]{1,255}$")),
    responses((status = 200, body = ConversationBody), (status = 404, body = ErrorEnvelope))
)]
#[get("/conversations/{conversation_id}")]
async fn get_one(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let key = key(&path)?;
    let scope = caller.scope;
    let (conversation, messages) = state.conversations.get(scope, &key).await?;
    let active_run = match &state.runs {
        Some(runs) => runs.active(scope, &key).await?.map(|run| ActiveRunBody {
            run_id: run.run_id.to_string(),
            status: "running".to_owned(),
            last_event_id: run.last_event_id,
        }),
        None => None,
    };
    Ok(HttpResponse::Ok().json(ConversationBody {
        conversation_id: conversation.key.to_string(),
        messages: messages
            .into_iter()
            .map(|m| MessageBody {
                role: m.role.as_str().to_owned(),
                content: m.content.text,
                timestamp: m.created_at,
            })
            .collect(),
        created_at: conversation.created_at,
        updated_at: conversation.updated_at,
        agent_context: AgentContextBody {
            entrypoint: conversation.agent_entrypoint,
            active_agent: conversation.active_agent,
            handoff_count: conversation.handoff_count,
        },
        active_run,
    }))
}

/// Deletes one conversation and its messages.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("api_key" = [])),
    params(("conversation_id" = String, Path, description = "Conversation id: 1-255 characters of `[A-Za-z0-9._:-]`", pattern = "^[A-Za-z0-9._:-]{1,255}$")),
    responses((status = 204), (status = 404, body = ErrorEnvelope))
)]
#[delete("/conversations/{conversation_id}")]
async fn delete_one(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let key = key(&path)?;
    state.conversations.delete(caller.scope, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the conversation routes under `/api/v1` (search before `{id}`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(search)
        .service(get_one)
        .service(delete_one);
}
