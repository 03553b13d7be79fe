//! `/openapi.json`, the document collected from the mounted handlers, and
//! `/docs`, the interactive page over it, with its assets compiled into the
//! binary (works offline; no CDN).

mod responses;
mod rules;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The OpenAPI document as served: built once per worker from the mounted
/// routes and completed (see [`complete`]).
#[derive(Clone)]
pub struct OpenApiDoc(pub Arc<serde_json::Value>);

/// The collected document as JSON, completed with the answers every
/// operation of a kind can give (400/413/422 for bodies, 401 for bearer
/// routes, 403 for tenant routes, 500/503 for store-backed ones) and the
/// constraints the derive cannot write (after-trim lengths, timestamps,
/// fields that go together).
pub fn complete(doc: &OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    responses::complete(&mut value);
    rules::apply(&mut value);
    value
}

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The OpenAPI 3.1 document of every route.
#[utoipa::path(
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<OpenApiDoc>) -> HttpResponse {
    HttpResponse::Ok().json(doc.0.as_ref())
}

/// The interactive API page (redirects to `/docs/`, where its relative
/// asset links resolve).
#[utoipa::path(
    tag = "meta",
    responses((status = 308, description = "Redirect to `/docs/`, the interactive page (HTML)"))
)]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The Swagger UI page and its assets under `/docs/`, reading
/// [`OPENAPI_PATH`] (the UI itself serves no second copy of the document).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").config(Config::new([OPENAPI_PATH]))
}
