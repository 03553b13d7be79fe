//! `/api/v1/agents`: the agent catalog.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorEnvelope};
use crate::extract::TenantCaller;
use crate::state::AppState;

/// One agent of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSummary {
    /// Agent name.
    pub name: String,
    /// Always `active` for configured agents.
    pub status: &'static str,
    /// What it does.
    pub description: String,
}

/// The agents this server runs, sorted by name.
#[utoipa::path(tag = "agents", responses((status = 200, body = Vec<AgentSummary>)))]
#[get("/agents")]
async fn list_agents(state: web::Data<AppState>) -> HttpResponse {
    let agents: Vec<AgentSummary> = state
        .agent_status
        .list()
        .into_iter()
        .map(|a| AgentSummary {
            name: a.name,
            status: a.status,
            description: a.description,
        })
        .collect();
    HttpResponse::Ok().json(agents)
}

/// An agent's use in the caller's tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStatusBody {
    /// Agent name.
    pub name: String,
    /// Always `active` for configured agents.
    pub status: &'static str,
    /// When it last answered in this tenant.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<time::OffsetDateTime>,
    /// Conversations it answered in this tenant.
    pub total_conversations: u64,
}

/// An agent's status in the caller's tenant, from stored conversations.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "Agent name")),
    responses((status = 200, body = AgentStatusBody), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
#[get("/agents/{name}/status")]
async fn agent_status(
    state: web::Data<AppState>,
    caller: TenantCaller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let status = state
        .agent_status
        .status(caller.scope.tenant_id, &path)
        .await?;
    Ok(HttpResponse::Ok().json(AgentStatusBody {
        name: status.name,
        status: status.status,
        last_used: status.last_used,
        total_conversations: status.total_conversations,
    }))
}

/// Mounts the agent routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_agents).service(agent_status);
}
