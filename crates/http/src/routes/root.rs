//! `/`: where everything is; a browser is sent to the console.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
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

/// True when `Accept` lists `text/html` before any JSON type (what a
/// browser navigating to the address sends). Media ranges with `q=0` are
/// refused ones and do not count.
fn wants_html(accept: &str) -> bool {
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        if media == "text/html" {
            return true;
        }
        if media == "application/json" || media.ends_with("+json") {
            return false;
        }
    }
    false
}

/// Where the docs, probes and API live; a browser (`Accept` listing
/// `text/html` before any JSON type) is redirected to the web console.
#[utoipa::path(
    tag = "meta",
    responses(
        (status = 200, body = RootBody),
        (status = 302, description = "To `/app`, the web console, when `Accept` prefers `text/html`"),
    )
)]
#[get("/")]
async fn root(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if wants_html(accept) {
        return HttpResponse::Found()
            .insert_header((header::LOCATION, "/app"))
            .insert_header((header::VARY, "Accept"))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(RootBody {
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

#[cfg(test)]
mod tests {
    use super::wants_html;

    #[test]
    fn a_browser_accept_header_prefers_html_and_api_clients_do_not() {
        assert!(wants_html(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(wants_html("TEXT/HTML ; q=0.9, application/json"));
        assert!(!wants_html("application/json, text/html"));
        assert!(!wants_html("application/problem+json,text/html"));
        assert!(!wants_html("*/*"));
        assert!(!wants_html(""));
        assert!(!wants_html("text/html;q=0, application/json"));
        assert!(!wants_html("text/html; q=0.0"));
    }
}
