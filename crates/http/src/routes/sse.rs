//! Server-sent events: a chat run as it happens (`/chat/stream`) and a
//! run's log replayed and followed (`/chat/runs/{id}/events`). Both send
//! `retry:` first, then `id:` and `data:` lines per event, keep-alive
//! comments during silence, and end after exactly one terminal event.

mod encoder;

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use agents_application::chat::{ChatError, ChatEvent, ChatRun, LoggedEvent};
use agents_application::runs::{EventFrame, RunEventEncoder};
use agents_domain::RunId;
use agents_domain::run::RunEventStream;
use futures::StreamExt;

use crate::telemetry::ChatTurnMetrics;
use crate::telemetry::metrics::ActiveStream;

pub use encoder::SseEncoder;

/// What a client waits before reconnecting, in milliseconds.
const RETRY: &[u8] = b"retry: 1000\n\n";
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

fn frame(id: u64, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\ndata: {data}\n\n"))
}

struct LiveState {
    run: ChatRun,
    conversation_id: String,
    last_id: u64,
    started: bool,
    finished: bool,
    keep_alive: Duration,
    metrics: ChatTurnMetrics,
    /// Keeps the open-streams gauge up while the client is connected.
    _open: ActiveStream,
}

impl LiveState {
    fn encode(&mut self, logged: &LoggedEvent) -> Bytes {
        self.metrics.observe(&logged.event);
        self.last_id = logged.id;
        if matches!(logged.event, ChatEvent::Done(_) | ChatEvent::Error(_)) {
            self.finished = true;
        }
        let data = SseEncoder.encode(EventFrame {
            run_id: self.run.run_id,
            event_id: logged.id,
            conversation_id: &self.conversation_id,
            agent: &logged.agent,
            event: &logged.event,
        });
        frame(logged.id, &data)
    }
}

fn event_stream(
    body: impl futures::Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// Streams `run` as `text/event-stream`. Dropping the response (a client
/// that disconnects) drops only the receiver: the run completes and is
/// stored regardless, and can be followed again by its id.
pub fn response(run: ChatRun, keep_alive: Duration) -> HttpResponse {
    let state = LiveState {
        metrics: ChatTurnMetrics::start(&run.agent, &run.model),
        _open: ActiveStream::open(),
        conversation_id: run.conversation_id.to_string(),
        run,
        last_id: 0,
        started: false,
        finished: false,
        keep_alive,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        if !state.started {
            state.started = true;
            return Some((Ok(Bytes::from_static(RETRY)), state));
        }
        if state.finished {
            return None;
        }
        let bytes = match tokio::time::timeout(state.keep_alive, state.run.next_logged()).await {
            Ok(Some(logged)) => state.encode(&logged),
            Ok(None) => {
                // The run ended without a terminal event: still end with one.
                let logged = LoggedEvent {
                    id: state.last_id + 1,
                    agent: state.run.agent.clone(),
                    event: ChatEvent::Error(ChatError::Internal(
                        agents_application::cause::Cause::message("the run ended unexpectedly"),
                    )),
                };
                state.encode(&logged)
            }
            Err(_) => Bytes::from_static(KEEP_ALIVE),
        };
        Some((Ok::<_, actix_web::Error>(bytes), state))
    });
    event_stream(stream)
}

struct ReplayState {
    events: RunEventStream,
    started: bool,
    finished: bool,
    keep_alive: Duration,
    _run: RunId,
    _open: ActiveStream,
}

/// Streams a run's logged events (replayed, then live) as they are.
pub fn replay(run: RunId, events: RunEventStream, keep_alive: Duration) -> HttpResponse {
    let state = ReplayState {
        events,
        started: false,
        finished: false,
        keep_alive,
        _run: run,
        _open: ActiveStream::open(),
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        if !state.started {
            state.started = true;
            return Some((Ok(Bytes::from_static(RETRY)), state));
        }
        if state.finished {
            return None;
        }
        let bytes = match tokio::time::timeout(state.keep_alive, state.events.next()).await {
            Ok(Some(Ok(event))) => {
                state.finished = event.terminal;
                frame(event.id, &event.data)
            }
            Ok(Some(Err(error))) => {
                // The client reconnects with its Last-Event-ID and resumes.
                tracing::warn!(run_id = %state._run, %error, "following a run failed");
                return None;
            }
            Ok(None) => return None,
            Err(_) => Bytes::from_static(KEEP_ALIVE),
        };
        Some((Ok::<_, actix_web::Error>(bytes), state))
    });
    event_stream(stream)
}
