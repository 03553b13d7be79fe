//! [`Cause`]: the infrastructure failure behind a use-case error. It is
//! kept whole as that error's source, so the log shows the chain down to
//! the driver, and is cheap to clone (chat errors travel in stream events).

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A shared, opaque failure: `Display` and `source` are those of the error
/// it wraps.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync + 'static>);

impl Cause {
    /// Wraps `error`.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// A failure known only by a message (a broken invariant).
    pub fn message(message: impl Into<String>) -> Self {
        Self::new(Message(message.into()))
    }

    /// This cause seen through `message` (what was being done), which
    /// becomes the display, with this cause as its source.
    pub fn context(self, message: impl Into<String>) -> Self {
        Self::new(Context {
            message: message.into(),
            source: self,
        })
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// Causes compare by what they say: errors of the driver are not
/// comparable, and tests only ask whether two failures read the same.
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Context {
    message: String,
    #[source]
    source: Cause,
}

/// Every message of `error`'s chain, outermost first, joined by `: ` (what
/// the log shows of a failure).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let message = cause.to_string();
        // Wrappers often repeat their source's message in their own.
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use agents_domain::{StoreCause, StoreError};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Driver;

    #[test]
    fn the_chain_reaches_the_driver_through_context_and_store_errors() {
        let store = StoreError::Unavailable(StoreCause::with_source("pool timed out", Driver));
        let cause = Cause::new(store).context("retries gave up");
        assert_eq!(cause.to_string(), "retries gave up");
        assert_eq!(
            chain(&cause),
            "retries gave up: store unavailable: pool timed out: connection refused"
        );
        assert_eq!(cause.clone(), cause);
    }
}
