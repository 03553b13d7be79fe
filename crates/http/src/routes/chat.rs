//! `/api/v1/chat` and `/api/v1/chat/stream`: one code path, the second
//! forwarding the run's events as server-sent events.

use actix_web::{HttpResponse, post, web};
use agents_application::chat::{ChatEvent, ChatReply, ChatRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::sse;
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{Json, TenantCaller};
use crate::state::AppState;
use crate::telemetry::ChatTurnMetrics;

/// A chat turn.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatBody {
    /// 1 to 32,000 characters after trimming.
    pub message: String,
    /// Continue this conversation (absent: a new one). 1-255 of `[A-Za-z0-9._:-]`.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,255}$")]
    pub conversation_id: Option<String>,
    /// Agent to start with; unknown names fall back to `triage`.
    #[serde(default)]
    pub agent_type: Option<String>,
    /// An object when present (null counts as absent); accepted for
    /// compatibility with the Python service, not sent to the model.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<ChatBody> for ChatRequest {
    fn from(body: ChatBody) -> Self {
        ChatRequest {
            message: body.message,
            conversation_id: body.conversation_id,
            agent_type: body.agent_type,
        }
    }
}

/// Token counts of a turn.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenUsageBody {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// Sum.
    pub total_tokens: u32,
}

/// A tool call of the turn.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolCallBody {
    /// Tool name.
    pub name: String,
    /// Arguments as sent by the model.
    #[schema(value_type = Object)]
    pub arguments: serde_json::Value,
    /// Start of the result.
    pub result_preview: String,
}

/// How the turn was produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatMetadata {
    /// Model name.
    pub model_used: String,
    /// Tools the answering agent could use.
    pub tools_available: Vec<String>,
    /// Tools called.
    pub tool_calls: Vec<ToolCallBody>,
    /// Handoffs as `from->to`.
    pub handoffs: Vec<String>,
    /// Token usage.
    pub usage: TokenUsageBody,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponse {
    /// The run of this turn (its events can be replayed by id).
    pub run_id: String,
    /// Answer text.
    pub response: String,
    /// The conversation (new or continued).
    pub conversation_id: String,
    /// The agent that answered.
    pub agent_used: String,
    /// Whether a handoff happened.
    pub handoff_occurred: bool,
    /// Details.
    pub metadata: ChatMetadata,
}

pub(super) fn usage_body(usage: agents_domain::llm::TokenUsage) -> TokenUsageBody {
    TokenUsageBody {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
    }
}

impl ChatResponse {
    fn new(run_id: agents_domain::RunId, reply: ChatReply) -> Self {
        ChatResponse {
            run_id: run_id.to_string(),
            response: reply.response,
            conversation_id: reply.conversation_id.to_string(),
            agent_used: reply.agent_used,
            handoff_occurred: reply.handoff_occurred,
            metadata: ChatMetadata {
                model_used: reply.model_used,
                tools_available: reply.tools_available,
                tool_calls: reply
                    .tool_calls
                    .into_iter()
                    .map(|c| ToolCallBody {
                        name: c.name,
                        arguments: c.arguments,
                        result_preview: c.result_preview,
                    })
                    .collect(),
                handoffs: reply.handoffs.iter().map(ToString::to_string).collect(),
                usage: usage_body(reply.usage),
            },
        }
    }
}

/// Sends a message to an agent and waits for the whole answer.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = []), ("api_key" = [])),
    params(("X-Tenant-Id" = Option<String>, Header, description = "Tenant id or slug (default: your personal tenant)")),
    request_body = ChatBody,
    responses(
        (status = 200, body = ChatResponse),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope, description = "quota_exceeded or rate_limited"),
        (status = 502, body = ErrorEnvelope, description = "llm_error"), (status = 503, body = ErrorEnvelope, description = "llm_unavailable"),
        (status = 504, body = ErrorEnvelope, description = "llm_timeout"),
    )
)]
#[post("/chat")]
async fn chat(
    state: web::Data<AppState>,
    caller: TenantCaller,
    body: Json<ChatBody>,
) -> ApiResult<HttpResponse> {
    let mut run = state
        .chat
        .start(caller.scope, body.into_inner().into())
        .await?;
    let mut metrics = ChatTurnMetrics::start(&run.agent, &run.model);
    while let Some(event) = run.next().await {
        metrics.observe(&event);
        match event {
            ChatEvent::Done(reply) => {
                return Ok(HttpResponse::Ok().json(ChatResponse::new(run.run_id, reply)));
            }
            ChatEvent::Error(error) => return Err(error.into()),
            _ => {}
        }
    }
    Err(ApiError::internal(&"the run ended without a result"))
}

/// Sends a message and streams the answer as server-sent events: `delta`,
/// `tool_call`, `tool_result`, `handoff`, then exactly one `done` or `error`.
#[utoipa::path(
    tag = "chat",
    security(("bearer" = []), ("api_key" = [])),
    params(("X-Tenant-Id" = Option<String>, Header, description = "Tenant id or slug (default: your personal tenant)")),
    request_body = ChatBody,
    responses(
        (status = 200, content_type = "text/event-stream", description = "`id: N` and `data: {json}` per event; `: keep-alive` comments during silence"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope),
    )
)]
#[post("/chat/stream")]
async fn chat_stream(
    state: web::Data<AppState>,
    caller: TenantCaller,
    body: Json<ChatBody>,
) -> ApiResult<HttpResponse> {
    let run = state
        .chat
        .start(caller.scope, body.into_inner().into())
        .await?;
    Ok(sse::response(run, state.stream_keep_alive))
}

/// Mounts the chat routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(chat).service(chat_stream);
}
