//! Unmatched requests: 405 with `Allow` when the path exists under other
//! methods (read from the OpenAPI document, the one list of routes), else 404.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// Path templates and their methods, for 405 answers.
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<String>)>,
}

impl RouteTable {
    /// Reads every path and method of the document.
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<String> = Vec::new();
                let ops = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                for (name, present) in ops {
                    if present {
                        methods.push(name.to_owned());
                    }
                }
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self { routes }
    }

    /// Methods allowed on `path`, when some route matches it.
    pub fn allowed(&self, path: &str) -> Option<String> {
        self.routes
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.join(", "))
    }
}

/// The app's default service.
pub async fn not_matched(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    match table.allowed(req.path()) {
        Some(allow) if req.method() == actix_web::http::Method::OPTIONS => {
            HttpResponse::NoContent()
                .insert_header(("Allow", allow))
                .finish()
        }
        Some(allow) => ApiError::method_not_allowed(allow).error_response(),
        None => ApiError::not_found(format!("No route for {} {}.", req.method(), req.path()))
            .error_response(),
    }
}
