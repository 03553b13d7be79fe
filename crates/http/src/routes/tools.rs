//! `/api/v1/tools`: the tool registry.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;

/// One tool.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolInfo {
    /// Name the model calls it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Category.
    pub category: String,
    /// JSON Schema of its arguments.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// Whether it can run here (e.g. its key is configured).
    pub available: bool,
}

/// The tools list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolsBody {
    /// Number of tools.
    pub total_tools: usize,
    /// Names, sorted.
    pub tool_names: Vec<String>,
    /// Distinct categories.
    pub categories: Vec<String>,
    /// The tools.
    pub tools: Vec<ToolInfo>,
}

/// Every tool agents may call, with its JSON Schema.
#[utoipa::path(tag = "agents", responses((status = 200, body = ToolsBody)))]
#[get("/tools")]
async fn list_tools(state: web::Data<AppState>) -> HttpResponse {
    let tools: Vec<ToolInfo> = state
        .tools
        .all()
        .map(|t| ToolInfo {
            name: t.name().to_owned(),
            description: t.description().to_owned(),
            category: t.category().to_owned(),
            parameters: t.parameters(),
            available: t.available(),
        })
        .collect();
    HttpResponse::Ok().json(ToolsBody {
        total_tools: tools.len(),
        tool_names: tools.iter().map(|t| t.name.clone()).collect(),
        categories: state.tools.categories(),
        tools,
    })
}

/// Mounts the tool routes under `/api/v1`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tools);
}
