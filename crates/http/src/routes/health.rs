//! `/health` (liveness) and `/health/ready` (readiness).

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorEnvelope};
use crate::state::AppState;

/// The probes' body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// `healthy` or `ready`.
    pub status: &'static str,
    /// Now, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// Service version.
    pub version: String,
    /// Seconds since start.
    pub uptime: f64,
}

fn body(state: &AppState, status: &'static str) -> HealthBody {
    HealthBody {
        status,
        timestamp: OffsetDateTime::now_utc(),
        version: state.info.version.clone(),
        uptime: (state.health.uptime_seconds() * 100.0).round() / 100.0,
    }
}

/// Liveness: the process answers.
#[utoipa::path(tag = "health", responses((status = 200, body = HealthBody)))]
#[get("/health")]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(body(&state, "healthy"))
}

/// Readiness: the database answers within `DATABASE_HEALTH_TIMEOUT`.
#[utoipa::path(
    tag = "health",
    responses((status = 200, body = HealthBody), (status = 503, body = ErrorEnvelope, description = "database not answering"))
)]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.health.ready().await?;
    Ok(HttpResponse::Ok().json(body(&state, "ready")))
}

/// Mounts the probes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health).service(ready);
}
