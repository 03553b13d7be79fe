//! Turns actix's own extractor failures (JSON body, path, query) into the
//! envelope, so no client ever sees a plain-text error.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::web;
use agents_domain::FieldError;

use super::ApiError;

/// JSON body settings: the size limit and envelope errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(err).into())
}

/// Path parameter errors become 422 (or 404 for the catch-all) envelopes.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| path_error(err).into())
}

/// Query string errors become 422 envelopes.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| query_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than the limit of {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::validation(vec![FieldError::new(
            "body",
            "Content-Type must be application/json",
        )]),
        JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The request body is not valid JSON ({e})."),
        ),
        JsonPayloadError::Deserialize(e) => {
            ApiError::validation(vec![serde_field_error(&e.to_string())])
        }
        JsonPayloadError::Payload(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("The request body could not be read ({e})."),
        ),
        other => ApiError::internal(&other),
    }
}

fn path_error(err: PathError) -> ApiError {
    match err {
        PathError::Deserialize(e) => {
            ApiError::validation(vec![FieldError::new("path", e.to_string())])
        }
        other => ApiError::validation(vec![FieldError::new("path", other.to_string())]),
    }
}

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(e) => {
            ApiError::validation(vec![serde_field_error(&e.to_string())])
        }
        other => ApiError::validation(vec![FieldError::new("query", other.to_string())]),
    }
}

/// Names the field in a serde message such as "missing field `message` at
/// line 1 column 2" or "invalid type: ... for key `limit`", so the 422 tells
/// the client what to fix.
fn serde_field_error(message: &str) -> FieldError {
    let cleaned = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let field = cleaned
        .strip_prefix("missing field `")
        .or_else(|| cleaned.strip_prefix("unknown field `"))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned)
        .unwrap_or_else(|| "body".to_owned());
    FieldError::new(field, cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_named() {
        let e = serde_field_error("missing field `message` at line 1 column 2");
        assert_eq!(e.field, "message");
        assert_eq!(e.message, "missing field `message`");
    }

    #[test]
    fn other_serde_errors_fall_back_to_body() {
        let e = serde_field_error("invalid type: string \"x\", expected u32 at line 1 column 9");
        assert_eq!(e.field, "body");
        assert!(e.message.starts_with("invalid type"));
    }
}
