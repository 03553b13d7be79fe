//! Middleware applied to every request.

mod error_envelope;
mod request_context;

pub use error_envelope::error_envelope;
pub use request_context::{CorrelationId, request_context};
