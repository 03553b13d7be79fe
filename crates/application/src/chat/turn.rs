//! The background half of a chat turn: run the agent until it answers, is
//! cancelled or is interrupted by a shutdown; store the answer (retrying
//! briefly when the database does not answer), report to the turn guard,
//! then end the run with its terminal event. Sending never fails the turn:
//! a consumer that went away just stops receiving.

use std::sync::Mutex;
use std::time::Instant;

use agents_domain::conversation::{
    ConversationUpdate, MessageContent, MessageRole, NewMessage, ToolCallRecord,
};
use agents_domain::llm::TokenUsage;
use agents_domain::run::{CancelSignal, RunStatus};

use super::log::EventLog;
use super::prepare::AcceptedTurn;
use super::{ChatError, ChatEvent, ChatReply, ChatService, TurnOutcome, TurnPermit};
use crate::api_keys::KeyReservation;
use crate::runs::RunRegistration;
use crate::runtime::{RunEvent, RunFailure, RunSummary};

/// How a run's work may be stopped from outside.
pub(super) struct RunControl {
    /// Its events' numbering and log.
    pub log: EventLog,
    /// Resolves on a cancel request.
    pub cancel: CancelSignal,
    /// Its place in this process's registry (lease, shutdown).
    pub registration: Option<RunRegistration>,
}

enum Ending {
    Ran(Result<RunSummary, RunFailure>),
    Stopped(RunStatus),
}

/// An assistant message to store: a full answer or the part produced
/// before the run was stopped.
struct Answer {
    text: String,
    tool_calls: Vec<ToolCallRecord>,
    agent: String,
    usage: TokenUsage,
    handoffs: usize,
    cancelled: bool,
}

impl Answer {
    fn of(summary: &RunSummary) -> Self {
        Self {
            text: summary.text.clone(),
            tool_calls: summary.tool_calls.clone(),
            agent: summary.agent.clone(),
            usage: summary.usage,
            handoffs: summary.handoffs.len(),
            cancelled: false,
        }
    }
}

/// Runs an accepted turn to its end.
pub(super) async fn complete(
    service: ChatService,
    turn: AcceptedTurn,
    (permit, key_turn): (TurnPermit, Option<KeyReservation>),
    control: RunControl,
) {
    let RunControl {
        log,
        cancel,
        mut registration,
    } = control;
    let started = Instant::now();
    let entrypoint = turn.run.agent.clone();
    let partial = Mutex::new(String::new());
    let ending = {
        let emit = |event: RunEvent| {
            if let RunEvent::Delta(text) = &event {
                partial
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push_str(text);
            }
            log.push(ChatEvent::from(event));
        };
        let interrupted = async {
            match registration.as_mut() {
                Some(registration) => registration.interrupted().await,
                None => std::future::pending().await,
            }
        };
        // Dropping the run's future stops the model call where it is.
        tokio::select! {
            biased;
            result = service.runtime.run(turn.run.clone(), &emit) => Ending::Ran(result),
            () = cancel => Ending::Stopped(RunStatus::Cancelled),
            () = interrupted => Ending::Stopped(RunStatus::Interrupted),
        }
    };
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);

    let (terminal, status) = match ending {
        Ending::Ran(Err(failure)) => {
            tracing::warn!(
                conversation = %turn.key,
                run_id = %turn.run_id,
                agent = %failure.agent,
                error = %failure.error,
                "chat run failed; the user message stays stored"
            );
            let outcome = TurnOutcome {
                usage: failure.usage,
                succeeded: false,
            };
            service
                .finish_turn(&turn.scope, permit, key_turn, outcome)
                .await;
            (ChatEvent::Error(failure.error.into()), RunStatus::Failed)
        }
        Ending::Ran(Ok(summary)) => {
            let answer = Answer::of(&summary);
            let stored =
                store_answer_with_retry(&service, &turn, &entrypoint, &answer, latency_ms).await;
            let outcome = TurnOutcome {
                usage: summary.usage,
                succeeded: stored.is_ok(),
            };
            service
                .finish_turn(&turn.scope, permit, key_turn, outcome)
                .await;
            match stored {
                Ok(()) => (
                    ChatEvent::Done(ChatReply {
                        response: summary.text,
                        conversation_id: turn.key.clone(),
                        agent_used: summary.agent,
                        handoff_occurred: !summary.handoffs.is_empty(),
                        model_used: summary.model,
                        tools_available: summary.tools_available,
                        tool_calls: summary.tool_calls,
                        handoffs: summary.handoffs,
                        usage: summary.usage,
                    }),
                    RunStatus::Completed,
                ),
                Err(error) => (lost(&turn, error), RunStatus::Failed),
            }
        }
        Ending::Stopped(status) => {
            let answer = Answer {
                text: std::mem::take(
                    &mut *partial
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                ),
                tool_calls: Vec::new(),
                agent: log.agent(),
                usage: TokenUsage::default(),
                handoffs: 0,
                cancelled: true,
            };
            tracing::info!(conversation = %turn.key, run_id = %turn.run_id, %status, "run stopped; storing the partial answer");
            let stored =
                store_answer_with_retry(&service, &turn, &entrypoint, &answer, latency_ms).await;
            // A cancelled turn was the user's choice and stays counted; an
            // interrupted one gave the user nothing and is given back.
            let outcome = TurnOutcome {
                usage: TokenUsage::default(),
                succeeded: stored.is_ok() && status == RunStatus::Cancelled,
            };
            service
                .finish_turn(&turn.scope, permit, key_turn, outcome)
                .await;
            match stored {
                Ok(()) if status == RunStatus::Cancelled => {
                    (ChatEvent::Error(ChatError::Cancelled), status)
                }
                Ok(()) => (ChatEvent::Error(ChatError::Interrupted), status),
                Err(error) => (lost(&turn, error), RunStatus::Failed),
            }
        }
    };
    log.finish(terminal, status, service.clock.now()).await;
    drop(registration);
}

/// The terminal event of an answer that could not be stored.
fn lost(turn: &AcceptedTurn, error: ChatError) -> ChatEvent {
    // The answer text stays out of the log; the ids say which turn lost it.
    tracing::error!(
        conversation = %turn.key,
        run_id = %turn.run_id,
        %error,
        "the answer could not be stored and is lost; the client is told to retry"
    );
    ChatEvent::Error(error)
}

/// Stores the answer; when the database does not answer, tries again a
/// few times within `answer_write_window` of the first failure (each retry
/// bounded by what is left of it). Safe because the store skips a message
/// its run already stored: a first attempt whose commit went through but
/// whose answer was lost is not stored twice.
async fn store_answer_with_retry(
    service: &ChatService,
    turn: &AcceptedTurn,
    entrypoint: &str,
    answer: &Answer,
    latency_ms: i32,
) -> Result<(), ChatError> {
    let settings = &service.settings;
    let attempts = settings.answer_write_attempts.max(1);
    let mut deadline = None;
    let mut attempt = 1;
    loop {
        let write = store_answer(service, turn, entrypoint, answer, latency_ms);
        let outcome = match deadline {
            None => write.await,
            Some((until, ref last_error)) => match tokio::time::timeout_at(until, write).await {
                Ok(outcome) => outcome,
                // Out of time: report what the database last said.
                Err(_) => return Err(gave_up(last_error)),
            },
        };
        let error = match outcome {
            Err(error @ ChatError::ServiceUnavailable(_)) if attempt < attempts => error,
            Err(error @ ChatError::ServiceUnavailable(_)) => return Err(gave_up(&error)),
            other => return other,
        };
        let until = deadline.map_or_else(
            || tokio::time::Instant::now() + settings.answer_write_window,
            |(until, _)| until,
        );
        // 1, 2, 4... steps of a fifth of the window.
        let pause =
            (settings.answer_write_window / 5).saturating_mul(2u32.saturating_pow(attempt - 1));
        if tokio::time::Instant::now() + pause >= until {
            return Err(gave_up(&error));
        }
        tracing::warn!(
            conversation = %turn.key,
            run_id = %turn.run_id,
            attempt,
            %error,
            "storing the answer failed; trying again"
        );
        deadline = Some((until, error));
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// The error of a write that was given up on.
fn gave_up(error: &ChatError) -> ChatError {
    match error {
        ChatError::ServiceUnavailable(cause) => {
            ChatError::ServiceUnavailable(cause.clone().context("retries gave up"))
        }
        other => other.clone(),
    }
}

/// Appends the assistant message and updates the conversation's counters in
/// one store call.
async fn store_answer(
    service: &ChatService,
    turn: &AcceptedTurn,
    entrypoint: &str,
    answer: &Answer,
    latency_ms: i32,
) -> Result<(), ChatError> {
    let prompt = i32::try_from(answer.usage.prompt_tokens).unwrap_or(i32::MAX);
    let completion = i32::try_from(answer.usage.completion_tokens).unwrap_or(i32::MAX);
    let message = NewMessage {
        role: MessageRole::Assistant,
        agent_type: Some(answer.agent.clone()),
        content: MessageContent {
            text: answer.text.clone(),
            tool_calls: answer.tool_calls.clone(),
            cancelled: answer.cancelled,
        },
        token_count_prompt: Some(prompt),
        token_count_completion: Some(completion),
        latency_ms: Some(latency_ms),
        run_id: Some(turn.run_id.to_string()),
        created_at: service.clock.now(),
    };
    let update = ConversationUpdate {
        entrypoint: entrypoint.to_owned(),
        active_agent: Some(answer.agent.clone()),
        add_prompt_tokens: prompt,
        add_completion_tokens: completion,
        add_handoffs: i32::try_from(answer.handoffs).unwrap_or(i32::MAX),
    };
    service
        .store
        .append(turn.scope, &turn.key, message, update)
        .await?;
    Ok(())
}
