//! Errors shared by every store port.

/// An infrastructure failure of a store: the caller can only report it.
///
/// Business outcomes (not found, conflict) are variants of each port's own
/// error enum; this one carries what no use case can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer (connection refused, pool exhausted, timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Any other failure of the store (a bug, corrupt data, a failed query).
    #[error("store failure: {0}")]
    Other(String),
}

/// One invalid input field, as a client should read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name in the request body or query.
    pub field: String,
    /// What is wrong with it and what to send instead.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
