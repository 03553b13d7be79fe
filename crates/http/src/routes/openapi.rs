//! `/openapi.json`: the document collected from the mounted handlers.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use utoipa::openapi::OpenApi;

/// The OpenAPI document, built once per worker from the mounted routes.
#[derive(Clone)]
pub struct OpenApiDoc(pub Arc<OpenApi>);

/// Serves the document.
pub async fn openapi_json(doc: web::Data<OpenApiDoc>) -> HttpResponse {
    HttpResponse::Ok().json(doc.0.as_ref())
}
