//! The chat model port and its errors.

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;

use super::{ModelEvent, ModelRequest};

/// Why a model call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LlmError {
    /// No provider is configured, or it cannot be reached at all.
    #[error("language model unavailable: {0}")]
    Unavailable(String),
    /// The provider answered with an error.
    #[error("language model error{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Provider {
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// The provider's message (never contains our key).
        message: String,
        /// How long the provider asked us to wait, when it did.
        retry_after: Option<Duration>,
    },
    /// No first byte, or no next chunk, within the configured time.
    #[error("language model timed out")]
    Timeout,
}

/// A stream of model events; ends after `Finished` or an error.
pub type ModelStream = Pin<Box<dyn Stream<Item = Result<ModelEvent, LlmError>> + Send>>;

/// A chat model that streams its answer.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Starts a call. Errors before any output (connection, 4xx/5xx) come
    /// back here; errors after output started come through the stream.
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, LlmError>;
}
