//! The error envelope of API.md and the one place errors become responses.

mod extractors;
mod fields;
mod mapping;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use agents_domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

pub use extractors::{json_config, path_config, query_config};
pub use fields::{from_json_object, from_query};

/// The body of every non-2xx response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always false.
    pub success: bool,
    /// Stable machine name in snake_case.
    #[schema(example = "not_found")]
    pub error: String,
    /// One human sentence saying what to change.
    pub message: String,
    /// Null, or structured help (a list of field errors for 422).
    pub details: Option<serde_json::Value>,
}

/// `Retry-After` of a 503 `service_unavailable`: long enough for a
/// restarting database or a failover, short enough not to keep clients
/// away once it is back.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An error on its way to the client: status, stable name, message.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
    retry_after: Option<u64>,
    allow: Option<String>,
}

impl ApiError {
    /// An error with an explicit status and name.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
        }
    }

    /// 422 with one entry per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("Invalid {}: {}.", one.field, one.message),
            _ => "The request has invalid fields; see details.".to_owned(),
        };
        let details = errors
            .iter()
            .map(|e| serde_json::json!({"field": e.field, "message": e.message}))
            .collect();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            message,
        )
        .with_details(serde_json::Value::Array(details))
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized` (adds `WWW-Authenticate: Bearer`).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 429 with `Retry-After`.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut err = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// 503 `service_unavailable` with `Retry-After` (a dependency is down
    /// or restarting; the same request is expected to work shortly).
    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        );
        err.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
        err
    }

    /// 500 with an opaque body; the cause is logged with the request's
    /// correlation id, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An internal error occurred; quote the X-Correlation-ID header when reporting it.",
        )
    }

    /// 405 listing the allowed methods.
    pub fn method_not_allowed(allow: String) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("This route does not support this method; allowed: {allow}."),
        );
        err.allow = Some(allow);
        err
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The stable error name.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The envelope body.
    pub fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            success: false,
            error: self.code.to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        // Rendered here rather than by `json()`, so even a response actix
        // renders outside the middleware (a caught panic) has the charset.
        match serde_json::to_vec(&self.envelope()) {
            Ok(body) => response
                .content_type("application/json; charset=utf-8")
                .body(body),
            Err(_) => response.finish(),
        }
    }
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;
