//! `/`: where everything is.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

/// Service directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootBody {
    /// Service name.
    pub service: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Interactive docs.
    pub docs: &'static str,
    /// Liveness probe.
    pub health: &'static str,
    /// API prefix.
    pub api: &'static str,
    /// Chat endpoint.
    pub chat: &'static str,
    /// Agents list.
    pub agents: &'static str,
}

/// Where the docs, probes and API live.
#[utoipa::path(tag = "meta", responses((status = 200, body = RootBody)))]
#[get("/")]
async fn root(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(RootBody {
        service: state.info.name.clone(),
        version: state.info.version.clone(),
        description: state.info.description.clone(),
        docs: "/docs",
        health: "/health",
        api: "/api/v1",
        chat: "/api/v1/chat",
        agents: "/api/v1/agents",
    })
}

/// Mounts `/`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(root);
}
