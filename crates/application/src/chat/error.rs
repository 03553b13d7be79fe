//! The chat use case's error: one variant per way a chat can fail, each
//! documenting the API.md error it becomes.

use std::time::Duration;

use agents_domain::FieldError;
use agents_domain::StoreError;
use agents_domain::conversation::ConversationError;
use agents_domain::llm::LlmError;

use super::TurnRefused;
use crate::cause::Cause;
use crate::runtime::RunError;

/// Why a chat failed. Variants up to `QuotaExceeded` are returned by
/// [`ChatService::start`](super::ChatService::start) before anything is
/// stored or streamed; the others can also arrive as the terminal
/// [`ChatEvent::Error`](super::ChatEvent::Error) of a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// 422 `validation_error`: the message or conversation id is invalid;
    /// `details` lists the fields.
    #[error("invalid chat request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// 429 `rate_limited`: the tenant sent more chat requests this minute
    /// than its rate allows; nothing was stored or counted.
    #[error("too many chat requests")]
    RateLimited {
        /// When the window frees a request (`Retry-After`).
        retry_after: Duration,
    },
    /// 404 `not_found`: the conversation id is in use in this tenant by a
    /// conversation the caller may not see.
    #[error("conversation not found")]
    ConversationNotFound,
    /// 429 `quota_exceeded`: the tenant's plan limit is reached (from the
    /// turn guard; nothing was stored), or its tokens ran out during the
    /// run (the user message stays stored).
    #[error("{message}")]
    QuotaExceeded {
        /// What limit was hit, for the client.
        message: String,
        /// When to try again (`Retry-After`), when known.
        retry_after: Option<Duration>,
    },
    /// 503 `llm_unavailable`: no model provider is configured or it cannot
    /// be reached.
    #[error("language model unavailable: {0}")]
    LlmUnavailable(String),
    /// 502 `llm_error`: the provider answered with an error.
    #[error("language model error{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    LlmError {
        /// The provider's HTTP status, when there was one.
        status: Option<u16>,
        /// The provider's message (log it; show clients a generic sentence).
        message: String,
    },
    /// 504 `llm_timeout`: the provider sent nothing within `LLM_TIMEOUT`.
    #[error("language model timed out")]
    LlmTimeout,
    /// 502 `llm_error`: the model kept calling tools for `AGENT_MAX_TURNS`
    /// model calls without answering.
    #[error("the agent did not answer within {max_turns} model calls")]
    MaxTurnsExceeded {
        /// The configured limit.
        max_turns: u32,
    },
    /// 503 `service_unavailable`: the database (or the billing store behind
    /// the turn guard) did not answer.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(#[source] Cause),
    /// The run was cancelled on request (terminal event `cancelled`; 409
    /// for the plain endpoint); the partial answer is stored.
    #[error("the run was cancelled")]
    Cancelled,
    /// The server shut down during the run (terminal event `interrupted`;
    /// 503 for the plain endpoint); the partial answer is stored.
    #[error("the run was interrupted by a shutdown")]
    Interrupted,
    /// 500 `internal_error`: anything else; the cause is for the log only.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<TurnRefused> for ChatError {
    fn from(refused: TurnRefused) -> Self {
        match refused {
            TurnRefused::QuotaExceeded {
                message,
                retry_after,
            } => ChatError::QuotaExceeded {
                message,
                retry_after,
            },
            TurnRefused::Unavailable(message) => ChatError::ServiceUnavailable(message),
        }
    }
}

impl From<LlmError> for ChatError {
    fn from(error: LlmError) -> Self {
        match error {
            LlmError::Unavailable(message) => ChatError::LlmUnavailable(message),
            LlmError::Provider {
                status, message, ..
            } => ChatError::LlmError { status, message },
            LlmError::Timeout => ChatError::LlmTimeout,
        }
    }
}

impl From<RunError> for ChatError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Llm(error) => error.into(),
            RunError::MaxTurnsExceeded { max_turns } => ChatError::MaxTurnsExceeded { max_turns },
            // The turn started within the budget; its tool calls spent it.
            // The user message stays stored, as after any failed run.
            RunError::TokenBudgetExhausted => ChatError::QuotaExceeded {
                message: "This tenant's plan ran out of tokens during this turn; upgrade the \
                          plan or wait for the next period."
                    .into(),
                retry_after: None,
            },
        }
    }
}

impl From<StoreError> for ChatError {
    fn from(error: StoreError) -> Self {
        match error {
            error @ StoreError::Unavailable(_) => ChatError::ServiceUnavailable(Cause::new(error)),
            error @ StoreError::Other(_) => ChatError::Internal(Cause::new(error)),
        }
    }
}

impl From<ConversationError> for ChatError {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::NotFound => ChatError::ConversationNotFound,
            ConversationError::Store(error) => error.into(),
        }
    }
}
