//! JSON request bodies parsed so every failure names its field: `Json<T>`
//! instead of actix's, and [`parse_json`] for handlers that read the body
//! themselves. Not JSON at all: 400 `invalid_json`; not an object, or a
//! wrong content type: 422 on `body`; wrong fields: 422, one entry per
//! field, by JSON path.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use agents_domain::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::error::{ApiError, from_json_object};

/// A JSON body deserialized into `T`, with field-exact errors. `T`'s
/// schema (the one the OpenAPI document shows) says which fields are
/// required, so every missing one is reported at once.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The fields `T`'s schema requires.
fn required_fields<T: PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.required,
        _ => Vec::new(),
    }
}

/// Parses a request body as a JSON object into `T`.
pub fn parse_json<T: DeserializeOwned + PartialSchema>(body: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The request body is not valid JSON ({error})."),
        )
    })?;
    let Value::Object(object) = integral_numbers(value) else {
        return Err(ApiError::validation(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    };
    from_json_object(object, &required_fields::<T>()).map_err(ApiError::validation)
}

/// JSON has one number type: `3.0` is the integer 3 to a JSON Schema (and
/// to JavaScript clients), so numbers without a fraction become integers
/// before typed fields read them. Fields of float type still accept them.
fn integral_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            match n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                // Exact: |f| < 2^53, so the cast loses nothing.
                #[allow(clippy::cast_possible_truncation)]
                Some(f) => Value::from(f as i64),
                None => Value::Number(n),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, integral_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.essence_str() == "application/json"
                || mime.suffix().is_some_and(|suffix| suffix == "json")
        }
        _ => false,
    }
}

fn payload_error(error: actix_web::Error) -> ApiError {
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than the configured limit.",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The request body could not be read.",
        ),
    }
}

impl<T: DeserializeOwned + PartialSchema + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        // The body size limit is the app's PayloadConfig (MAX_BODY_BYTES).
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::validation(vec![FieldError::new(
                    "body",
                    "Content-Type must be application/json",
                )]));
            }
            let body = body.await.map_err(payload_error)?;
            parse_json(&body).map(Json)
        })
    }
}
