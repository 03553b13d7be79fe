//! Errors shared by every store port.

use std::error::Error;
use std::fmt;

/// An infrastructure failure of a store: the caller can only report it.
///
/// Business outcomes (not found, conflict) are variants of each port's own
/// error enum; this one carries what no use case can act on. Both variants
/// hold a [`StoreCause`]: a message for the log and, when a driver raised
/// the failure, that driver error as the source (so adapters can look at it
/// again, e.g. to retry a transaction, and logs can show the whole chain).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer (connection refused or cut, pool exhausted,
    /// timeout, database restarting): worth retrying later (503).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] StoreCause),
    /// Any other failure of the store (a bug, corrupt data, a failed query).
    #[error("store failure: {0}")]
    Other(#[source] StoreCause),
}

impl StoreError {
    /// `Unavailable` with a message only.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(StoreCause::new(message))
    }

    /// `Other` with a message only.
    pub fn other(message: impl Into<String>) -> Self {
        Self::Other(StoreCause::new(message))
    }

    /// The cause, whichever the variant.
    pub fn cause(&self) -> &StoreCause {
        match self {
            Self::Unavailable(cause) | Self::Other(cause) => cause,
        }
    }

    /// Whether the store was unavailable (as opposed to failing otherwise).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// What went wrong in a store: a message fit for the log (never for a
/// client) and, optionally, the error that caused it.
#[derive(Debug)]
pub struct StoreCause {
    message: String,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl StoreCause {
    /// A cause with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A cause with a message and the error behind it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error behind the message, for adapters that inspect it again
    /// (downcast it to their driver's error type).
    pub fn driver_error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl fmt::Display for StoreCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for StoreCause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

impl From<String> for StoreCause {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for StoreCause {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_keeps_its_source_for_inspection_and_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = StoreError::Unavailable(StoreCause::with_source("connection lost", io));
        assert_eq!(err.to_string(), "store unavailable: connection lost");
        let driver = err.cause().driver_error().expect("source kept");
        let io = driver
            .downcast_ref::<std::io::Error>()
            .expect("the original type");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        let mut chain = Vec::new();
        let mut next: Option<&dyn Error> = Some(&err);
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        assert_eq!(
            chain,
            [
                "store unavailable: connection lost",
                "connection lost",
                "reset by peer"
            ]
        );
        assert!(err.is_unavailable());
        assert!(!StoreError::other("x").is_unavailable());
    }
}
