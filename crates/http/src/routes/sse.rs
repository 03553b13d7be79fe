//! Server-sent events for a chat run: `id:` and `data:` lines per event,
//! keep-alive comments during silence, exactly one terminal event.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use agents_application::chat::{ChatEvent, ChatRun};
use serde_json::{Value, json};

use super::chat::usage_body;
use crate::error::ApiError;
use crate::telemetry::ChatTurnMetrics;
use crate::telemetry::metrics::ActiveStream;

struct StreamState {
    run: ChatRun,
    conversation_id: String,
    agent: String,
    next_id: u64,
    finished: bool,
    keep_alive: Duration,
    metrics: ChatTurnMetrics,
    /// Keeps the open-streams gauge up while the client is connected.
    _open: ActiveStream,
}

impl StreamState {
    fn frame(&mut self, kind: &str, chunk: &str, complete: bool, extra: Value) -> Bytes {
        let id = self.next_id;
        self.next_id += 1;
        let mut event = json!({
            "type": kind,
            "event_id": id,
            "chunk": chunk,
            "conversation_id": self.conversation_id,
            "is_complete": complete,
            "agent_used": self.agent,
        });
        if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), extra) {
            target.extend(extra);
        }
        Bytes::from(format!("id: {id}\ndata: {event}\n\n"))
    }

    fn encode(&mut self, event: ChatEvent) -> Bytes {
        self.metrics.observe(&event);
        match event {
            ChatEvent::Delta(text) => self.frame("delta", &text, false, Value::Null),
            ChatEvent::ToolCall { name, arguments } => self.frame(
                "tool_call",
                "",
                false,
                json!({"tool": {"name": name, "arguments": arguments}}),
            ),
            ChatEvent::ToolResult {
                name,
                result_preview,
            } => self.frame(
                "tool_result",
                "",
                false,
                json!({"tool": {"name": name, "result_preview": result_preview}}),
            ),
            ChatEvent::Handoff { from, to } => {
                self.agent = to.clone();
                self.frame("handoff", "", false, json!({"from": from, "to": to}))
            }
            ChatEvent::Done(reply) => {
                self.finished = true;
                self.agent = reply.agent_used.clone();
                let handoffs: Vec<String> =
                    reply.handoffs.iter().map(ToString::to_string).collect();
                self.frame(
                    "done",
                    "",
                    true,
                    json!({
                        "usage": usage_body(reply.usage),
                        "handoff_occurred": reply.handoff_occurred,
                        "handoffs": handoffs,
                        "model_used": reply.model_used,
                    }),
                )
            }
            ChatEvent::Error(error) => {
                self.finished = true;
                let api = ApiError::from(error);
                self.frame(
                    "error",
                    "",
                    true,
                    json!({"error": api.code(), "message": api.message()}),
                )
            }
        }
    }
}

/// Streams `run` as `text/event-stream`. Dropping the response (a client
/// that disconnects) drops only the receiver: the run completes and is
/// stored regardless.
pub fn response(run: ChatRun, keep_alive: Duration) -> HttpResponse {
    let state = StreamState {
        metrics: ChatTurnMetrics::start(&run.agent, &run.model),
        _open: ActiveStream::open(),
        conversation_id: run.conversation_id.to_string(),
        agent: run.agent.clone(),
        run,
        next_id: 1,
        finished: false,
        keep_alive,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        let bytes = match tokio::time::timeout(state.keep_alive, state.run.next()).await {
            Ok(Some(event)) => state.encode(event),
            Ok(None) => {
                // The run ended without a terminal event: still end with one.
                state.finished = true;
                state.frame(
                    "error",
                    "",
                    true,
                    json!({"error": "internal_error", "message": "The run ended unexpectedly."}),
                )
            }
            Err(_) => Bytes::from_static(b": keep-alive\n\n"),
        };
        Some((Ok::<_, actix_web::Error>(bytes), state))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}
