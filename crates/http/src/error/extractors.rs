//! Turns actix's own extractor failures (JSON body, path, query) into the
//! envelope, so no client ever sees a plain-text error. The service's own
//! routes use [`crate::extract::Json`] and [`crate::extract::Query`], which
//! name every wrong field; these configurations cover `web::Json`,
//! `web::Query` and `web::Path` in routes an embedder adds.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::web;
use agents_domain::FieldError;

use super::ApiError;
use super::fields::friendly;

/// JSON body settings: the size limit and envelope errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(err).into())
}

/// Path parameter errors become 422 envelopes naming the parameter.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        // The one parameter of the route when there is one, else `path`.
        let names: Vec<&str> = req.match_info().iter().map(|(name, _)| name).collect();
        let field = match names.as_slice() {
            [one] => (*one).to_owned(),
            _ => "path".to_owned(),
        };
        path_error(err, field).into()
    })
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

fn path_error(err: PathError, field: String) -> ApiError {
    let message = match err {
        PathError::Deserialize(e) => friendly(&e.to_string(), None),
        _ => "has an invalid value".to_owned(),
    };
    ApiError::validation(vec![FieldError::new(field, message)])
}

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(e) => {
            ApiError::validation(vec![serde_field_error(&e.to_string())])
        }
        _ => ApiError::validation(vec![FieldError::new("query", "could not be read")]),
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
    FieldError::new(field, friendly(&cleaned, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_named() {
        let e = serde_field_error("missing field `message` at line 1 column 2");
        assert_eq!(e.field, "message");
        assert_eq!(e.message, "is required");
    }

    #[test]
    fn other_serde_errors_fall_back_to_body_in_json_terms() {
        let e = serde_field_error("invalid type: string \"x\", expected u32 at line 1 column 9");
        assert_eq!(e.field, "body");
        assert_eq!(e.message, "must be an integer of 0 or more");
    }
}
