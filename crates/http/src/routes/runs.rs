//! `/api/v1/chat/runs/{run_id}`: read a run, replay and follow its events
//! (reattach with `Last-Event-ID` or `?after=N`), cancel it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use agents_application::runs::{RunService, RunView};
use agents_domain::{FieldError, RunId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::sse;
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{Query, TenantCaller};
use crate::state::AppState;

/// A run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunBody {
    /// The run (UUID).
    pub run_id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// `running`, `completed`, `failed`, `cancelled` or `interrupted`.
    #[schema(pattern = "^(running|completed|failed|cancelled|interrupted)$")]
    pub status: String,
    /// The agent answering, or that answered.
    pub agent_used: String,
    /// When the turn was accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Id of its latest event.
    pub last_event_id: u64,
    /// Error code when it did not complete (`llm_error`, `cancelled`, `interrupted`...).
    pub error: Option<String>,
}

impl From<RunView> for RunBody {
    fn from(run: RunView) -> Self {
        RunBody {
            run_id: run.run_id.to_string(),
            conversation_id: run.conversation_id,
            status: run.status.as_str().to_owned(),
            agent_used: run.agent_used,
            started_at: run.started_at,
            finished_at: run.finished_at,
            last_event_id: run.last_event_id,
            error: run.error,
        }
    }
}

/// The answer to a cancel.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelBody {
    /// The run.
    pub run_id: String,
    /// Its status after the request (`cancelled` once stopped; an ended
    /// run keeps its own).
    #[schema(pattern = "^(running|completed|failed|cancelled|interrupted)$")]
    pub status: String,
}

/// Where to resume.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Send the events after this id (the `Last-Event-ID` header wins).
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

fn run_id(raw: &str) -> ApiResult<RunId> {
    uuid::Uuid::try_parse(raw.trim())
        .map(RunId::from_uuid)
        .map_err(|_| ApiError::validation(vec![FieldError::new("run_id", "must be a UUID")]))
}

fn runs(state: &AppState) -> ApiResult<&RunService> {
    state
        .runs
        .as_deref()
        .ok_or_else(|| ApiError::not_found("Run not found."))
}

/// The id to resume after: `Last-Event-ID`, else `?after=`, else 0.
fn resume_after(req: &HttpRequest, query: &EventsQuery) -> ApiResult<u64> {
    if let Some(value) = req.headers().get("last-event-id") {
        return value
            .to_str()
            .ok()
            .map(str::trim)
            .and_then(|v| {
                if v.is_empty() {
                    Some(0)
                } else {
                    v.parse().ok()
                }
            })
            .ok_or_else(|| {
                ApiError::validation(vec![FieldError::new(
                    "Last-Event-ID",
                    "must be an event id (a non-negative integer)",
                )])
            });
    }
    match query.after {
        None => Ok(0),
        Some(after) => u64::try_from(after)
            .map_err(|_| ApiError::validation(vec![FieldError::new("after", "must be 0 or more")])),
    }
}

const RUN_ID: &str = "The run's id (UUID)";

/// A run: status, times, agent, latest event id.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = RUN_ID, format = Uuid)),
    responses((status = 200, body = RunBody), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
#[get("/chat/runs/{run_id}")]
async fn get_run(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = run_id(&path)?;
    let run = runs(&state)?.get(caller.scope, id).await?;
    Ok(HttpResponse::Ok().json(RunBody::from(run)))
}

/// The run's events after `Last-Event-ID` (or `?after=N`): the stored ones,
/// then live ones until its terminal event; the same `id:` and `data:` as
/// `/chat/stream`.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(
        ("run_id" = String, Path, description = RUN_ID, format = Uuid),
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = r"^[0-9]{0,19}$", description = "Resume after this event id (a non-negative integer; empty means from the start)"),
        EventsQuery,
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "`retry:`, then `id: N` and `data: {json}` per event, ending with the terminal one"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "not the caller's, or its events expired"),
        (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope),
    )
)]
#[get("/chat/runs/{run_id}/events")]
async fn run_events(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
    query: Query<EventsQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = run_id(&path)?;
    let after = resume_after(&req, &query)?;
    let events = runs(&state)?.events(caller.scope, id, after).await?;
    Ok(sse::replay(id, events, state.stream_keep_alive))
}

/// Stops a running run within one model chunk: its partial answer is
/// stored as cancelled and every stream of it ends with `cancelled`.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = [])),
    params(("run_id" = String, Path, description = RUN_ID, format = Uuid)),
    responses((status = 202, body = CancelBody), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[post("/chat/runs/{run_id}/cancel")]
async fn cancel_run(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = run_id(&path)?;
    let run = runs(&state)?.cancel(caller.scope, id).await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(CancelBody {
        run_id: run.run_id.to_string(),
        status: run.status.as_str().to_owned(),
    }))
}

/// Mounts the run routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_run).service(run_events).service(cancel_run);
}
