//! CORS from configuration.

use actix_cors::Cors;
use actix_web::http::Method;

/// Allowed origins, methods and headers (`*` allows any).
#[derive(Debug, Clone)]
pub struct CorsSettings {
    /// Origins, or `*`.
    pub origins: Vec<String>,
    /// Methods, or `*`.
    pub methods: Vec<String>,
    /// Headers, or `*`.
    pub headers: Vec<String>,
}

/// Headers browser clients may read from our responses.
const EXPOSED: [&str; 4] = [
    "x-correlation-id",
    "x-process-time",
    "x-total-count",
    "retry-after",
];

/// Builds the CORS middleware. Unparseable methods are skipped (the
/// configuration loader has already refused them).
pub fn cors(settings: &CorsSettings) -> Cors {
    let any = |list: &[String]| list.iter().any(|v| v == "*");
    let mut cors = Cors::default().expose_headers(EXPOSED).max_age(600);
    cors = if any(&settings.origins) {
        cors.allow_any_origin()
    } else {
        settings
            .origins
            .iter()
            .fold(cors, |c, origin| c.allowed_origin(origin))
    };
    cors = if any(&settings.methods) {
        cors.allow_any_method()
    } else {
        cors.allowed_methods(
            settings
                .methods
                .iter()
                .filter_map(|m| m.parse::<Method>().ok()),
        )
    };
    if any(&settings.headers) {
        cors.allow_any_header()
    } else {
        cors.allowed_headers(settings.headers.iter().map(String::as_str))
    }
}
