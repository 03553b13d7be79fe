//! Correlation id, timing and the request log line: every log line of a
//! request carries its correlation id through the request's span.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tracing::Instrument;

use crate::error::ApiError;

/// The correlation id of the current request (also in request extensions).
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const PROCESS_TIME: HeaderName = HeaderName::from_static("x-process-time");
const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// Accepts a client id only when it is short and plain, so it can never
/// inject into logs or headers.
fn well_formed(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    [CORRELATION_ID, REQUEST_ID].iter().find_map(|name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| well_formed(v))
            .map(str::to_owned)
    })
}

/// Assigns the correlation id, times the request, logs one line at the end,
/// and sets `X-Correlation-ID` and `X-Process-Time` on every response,
/// errors included.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        method = %method,
        route = tracing::field::Empty,
        tenant_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        // The prefix of the API key that authenticated the request, never the key.
        api_key = tracing::field::Empty,
    );
    // Inner layers turn errors into responses (actix convention), so an
    // `Err` here is rare; it is logged and passed on as actix renders it.
    // A panic below is caught here and answered as an opaque 500 envelope
    // instead of a dropped connection.
    let call = AssertUnwindSafe(async move { next.call(req).await }).catch_unwind();
    let mut response = match call.instrument(span.clone()).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => {
            span.in_scope(
                || tracing::error!(error = %err, path = %path, "request failed in middleware"),
            );
            return Err(err);
        }
        Err(_panic) => {
            let err = span.in_scope(|| ApiError::internal(&format!("handler panicked on {path}")));
            return Err(err.into());
        }
    };
    let elapsed = started.elapsed();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".to_owned());
    span.record("route", route.as_str());
    let status = response.status().as_u16();
    crate::telemetry::metrics::record_http_request(&method, &route, status, elapsed);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, path = %path, latency_ms = elapsed.as_secs_f64() * 1000.0, "request failed");
        } else {
            tracing::info!(status, path = %path, latency_ms = elapsed.as_secs_f64() * 1000.0, "request completed");
        }
    });
    let headers = response.headers_mut();
    // API.md: JSON bodies are `application/json; charset=utf-8`; actix's
    // `json()` leaves the charset out.
    if headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"))
    {
        headers.insert(CONTENT_TYPE, JSON_UTF8);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(CORRELATION_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("{:.4}", elapsed.as_secs_f64())) {
        headers.insert(PROCESS_TIME, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_plain_short_ids_are_echoed() {
        assert!(well_formed("abc-123_X.y"));
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed("bad id"));
        assert!(!well_formed("bad\nid"));
    }
}
