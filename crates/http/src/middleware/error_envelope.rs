//! Wraps error responses that actix produced itself (unknown routes, 405,
//! oversized bodies, panicking extractors) in the envelope, so every non-2xx
//! body has one shape.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::error::ApiError;

fn generic_error(status: StatusCode) -> ApiError {
    let (code, message) = match status.as_u16() {
        400 => ("bad_request", "The request could not be understood."),
        401 => ("unauthorized", "Authentication is required."),
        403 => ("forbidden", "You are not allowed to do this."),
        404 => ("not_found", "The requested resource was not found."),
        405 => (
            "method_not_allowed",
            "This route does not support this method.",
        ),
        408 => ("request_timeout", "The request took too long to arrive."),
        413 => (
            "payload_too_large",
            "The request body is larger than the configured limit.",
        ),
        415 => (
            "unsupported_media_type",
            "The request's content type is not supported.",
        ),
        422 => ("validation_error", "The request is not valid."),
        429 => ("rate_limited", "Too many requests; slow down."),
        503 => (
            "service_unavailable",
            "The service is temporarily unavailable.",
        ),
        s if s >= 500 => ("internal_error", "An internal error occurred."),
        _ => ("bad_request", "The request was not accepted."),
    };
    ApiError::new(status, code, message)
}

fn is_json(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Replaces any non-JSON error body with the envelope, keeping the status
/// and the headers that matter (`Allow`, `Retry-After`, `WWW-Authenticate`).
pub async fn error_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return Ok(response);
    }
    let (request, old) = response.into_parts();
    let mut new = generic_error(status).error_response();
    for name in [
        actix_web::http::header::ALLOW,
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::WWW_AUTHENTICATE,
    ] {
        if let Some(value) = old.headers().get(&name) {
            new.headers_mut().insert(name, value.clone());
        }
    }
    Ok(ServiceResponse::new(request, new))
}
