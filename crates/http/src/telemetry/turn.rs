//! Model metrics of one chat turn, read off its events: feed every
//! [`ChatEvent`] of a run to [`ChatTurnMetrics::observe`] and the LLM
//! metrics by agent and model are recorded as the run goes.

use std::time::Instant;

use agents_application::chat::{ChatError, ChatEvent};

use super::metrics::{
    record_llm_call, record_llm_error, record_llm_tokens, record_time_to_first_token,
};

/// Watches one run. `model` is the model of the starting agent; the
/// terminal `Done` event names the model that answered.
#[derive(Debug)]
pub struct ChatTurnMetrics {
    agent: String,
    model: String,
    started: Instant,
    first_delta_seen: bool,
}

impl ChatTurnMetrics {
    /// Starts the clock for a run accepted just now.
    pub fn start(agent: &str, model: &str) -> Self {
        Self {
            agent: agent.to_owned(),
            model: model.to_owned(),
            started: Instant::now(),
            first_delta_seen: false,
        }
    }

    /// Records what `event` tells about the model.
    pub fn observe(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::Delta(_) if !self.first_delta_seen => {
                self.first_delta_seen = true;
                record_time_to_first_token(&self.agent, &self.model, self.started.elapsed());
            }
            ChatEvent::Handoff { to, .. } => self.agent.clone_from(to),
            ChatEvent::Done(reply) => {
                record_llm_call(
                    &reply.agent_used,
                    &reply.model_used,
                    true,
                    self.started.elapsed(),
                );
                record_llm_tokens(
                    &reply.agent_used,
                    &reply.model_used,
                    u64::from(reply.usage.prompt_tokens),
                    u64::from(reply.usage.completion_tokens),
                );
            }
            ChatEvent::Error(error) => {
                record_llm_call(&self.agent, &self.model, false, self.started.elapsed());
                record_llm_error(&self.agent, &self.model, error_name(error));
            }
            _ => {}
        }
    }
}

/// The stable API name of a run's failure (the label of `llm_errors_total`).
fn error_name(error: &ChatError) -> &'static str {
    match error {
        ChatError::LlmUnavailable(_) => "llm_unavailable",
        ChatError::LlmError { .. } | ChatError::MaxTurnsExceeded { .. } => "llm_error",
        ChatError::LlmTimeout => "llm_timeout",
        ChatError::ServiceUnavailable(_) => "service_unavailable",
        ChatError::Cancelled => "cancelled",
        ChatError::Interrupted => "interrupted",
        _ => "internal_error",
    }
}
