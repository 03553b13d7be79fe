//! The JSON of each stream event, shared by the live stream and the run's
//! log so that a replay repeats the original byte for byte.

use agents_application::chat::{ChatError, ChatEvent};
use agents_application::runs::{EventFrame, RunEventEncoder};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::chat::usage_body;

/// Encodes run events as `/chat/stream` sends them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SseEncoder;

impl RunEventEncoder for SseEncoder {
    fn encode(&self, frame: EventFrame<'_>) -> String {
        event_json(frame).to_string()
    }

    fn error_code(&self, error: &ChatError) -> String {
        ApiError::from(error.clone()).code().to_owned()
    }
}

fn event_json(frame: EventFrame<'_>) -> Value {
    let (kind, chunk, complete, extra) = match frame.event {
        ChatEvent::Delta(text) => ("delta", text.as_str(), false, Value::Null),
        ChatEvent::ToolCall { name, arguments } => (
            "tool_call",
            "",
            false,
            json!({"tool": {"name": name, "arguments": arguments}}),
        ),
        ChatEvent::ToolResult {
            name,
            result_preview,
        } => (
            "tool_result",
            "",
            false,
            json!({"tool": {"name": name, "result_preview": result_preview}}),
        ),
        ChatEvent::Handoff { from, to } => ("handoff", "", false, json!({"from": from, "to": to})),
        ChatEvent::Done(reply) => {
            let handoffs: Vec<String> = reply.handoffs.iter().map(ToString::to_string).collect();
            (
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
            let api = ApiError::from(error.clone());
            (
                "error",
                "",
                true,
                json!({"error": api.code(), "message": api.message()}),
            )
        }
    };
    let mut event = json!({
        "type": kind,
        "event_id": frame.event_id,
        "run_id": frame.run_id.to_string(),
        "chunk": chunk,
        "conversation_id": frame.conversation_id,
        "is_complete": complete,
        "agent_used": frame.agent,
    });
    if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), extra) {
        target.extend(extra);
    }
    event
}
