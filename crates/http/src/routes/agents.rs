//! `/api/v1/agents`: the agent catalog.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

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
        .agents
        .all()
        .map(|a| AgentSummary {
            name: a.name.clone(),
            status: "active",
            description: a.description.clone(),
        })
        .collect();
    HttpResponse::Ok().json(agents)
}

/// Mounts the agent routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_agents);
}
