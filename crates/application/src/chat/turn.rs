//! The background half of a chat turn: run the agent, store the answer
//! (retrying briefly when the database does not answer), report to the turn
//! guard, then send the terminal event. Sending never fails the turn: a
//! consumer that went away just stops receiving.

use std::time::Instant;

use agents_domain::conversation::{ConversationUpdate, MessageContent, MessageRole, NewMessage};
use tokio::sync::mpsc::UnboundedSender;

use super::prepare::AcceptedTurn;
use super::{ChatError, ChatEvent, ChatReply, ChatService, TurnOutcome, TurnPermit};
use crate::api_keys::KeyReservation;
use crate::runtime::RunSummary;

/// Runs an accepted turn to its end.
pub(super) async fn complete(
    service: ChatService,
    turn: AcceptedTurn,
    (permit, key_turn): (TurnPermit, Option<KeyReservation>),
    events: UnboundedSender<ChatEvent>,
) {
    let started = Instant::now();
    let entrypoint = turn.run.agent.clone();
    let emit = |event| {
        let _ = events.send(ChatEvent::from(event));
    };
    let result = service.runtime.run(turn.run.clone(), &emit).await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);

    let summary = match result {
        Ok(summary) => summary,
        Err(failure) => {
            tracing::warn!(
                conversation = %turn.key,
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
            let _ = events.send(ChatEvent::Error(failure.error.into()));
            return;
        }
    };

    let stored = store_answer_with_retry(&service, &turn, &entrypoint, &summary, latency_ms).await;
    let outcome = TurnOutcome {
        usage: summary.usage,
        succeeded: stored.is_ok(),
    };
    service
        .finish_turn(&turn.scope, permit, key_turn, outcome)
        .await;
    let event = match stored {
        Ok(()) => ChatEvent::Done(ChatReply {
            response: summary.text,
            conversation_id: turn.key,
            agent_used: summary.agent,
            handoff_occurred: !summary.handoffs.is_empty(),
            model_used: summary.model,
            tools_available: summary.tools_available,
            tool_calls: summary.tool_calls,
            handoffs: summary.handoffs,
            usage: summary.usage,
        }),
        Err(error) => {
            // The answer text stays out of the log; the ids say which turn lost it.
            tracing::error!(
                conversation = %turn.key,
                run_id = %turn.run_id,
                %error,
                "the answer could not be stored and is lost; the client is told to retry"
            );
            ChatEvent::Error(error)
        }
    };
    let _ = events.send(event);
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
    summary: &RunSummary,
    latency_ms: i32,
) -> Result<(), ChatError> {
    let settings = &service.settings;
    let attempts = settings.answer_write_attempts.max(1);
    let mut deadline = None;
    let mut attempt = 1;
    loop {
        let write = store_answer(service, turn, entrypoint, summary, latency_ms);
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
    summary: &RunSummary,
    latency_ms: i32,
) -> Result<(), ChatError> {
    let prompt = i32::try_from(summary.usage.prompt_tokens).unwrap_or(i32::MAX);
    let completion = i32::try_from(summary.usage.completion_tokens).unwrap_or(i32::MAX);
    let message = NewMessage {
        role: MessageRole::Assistant,
        agent_type: Some(summary.agent.clone()),
        content: MessageContent {
            text: summary.text.clone(),
            tool_calls: summary.tool_calls.clone(),
        },
        token_count_prompt: Some(prompt),
        token_count_completion: Some(completion),
        latency_ms: Some(latency_ms),
        run_id: Some(turn.run_id.clone()),
        created_at: service.clock.now(),
    };
    let update = ConversationUpdate {
        entrypoint: entrypoint.to_owned(),
        active_agent: Some(summary.agent.clone()),
        add_prompt_tokens: prompt,
        add_completion_tokens: completion,
        add_handoffs: i32::try_from(summary.handoffs.len()).unwrap_or(i32::MAX),
    };
    service
        .store
        .append(turn.scope, &turn.key, message, update)
        .await?;
    Ok(())
}
