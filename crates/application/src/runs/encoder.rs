//! The wire form of a run's events, supplied by the edge that serves them,
//! so the log holds exactly what a client of the live stream received.

use agents_domain::RunId;

use crate::chat::{ChatError, ChatEvent};

/// One event about to be sent and logged.
#[derive(Debug, Clone, Copy)]
pub struct EventFrame<'a> {
    /// The run.
    pub run_id: RunId,
    /// The event's id in the run (1, 2, 3...).
    pub event_id: u64,
    /// The conversation, as the client names it.
    pub conversation_id: &'a str,
    /// The agent answering as of this event (after a handoff it announces).
    pub agent: &'a str,
    /// The event.
    pub event: &'a ChatEvent,
}

/// Encodes events and names errors the way the edge shows them.
pub trait RunEventEncoder: Send + Sync {
    /// The event's JSON (the SSE `data:` line).
    fn encode(&self, frame: EventFrame<'_>) -> String;
    /// The error code a failed run records (`llm_error`, `cancelled`...).
    fn error_code(&self, error: &ChatError) -> String;
}
