//! Test fakes for the application's unit tests: a scripted chat model, the
//! adapters' in-memory conversation store with scripted write faults, and a
//! few tools.

mod store;

pub use store::{AppendFault, MemoryStore};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::llm::{FinishReason, ModelEvent, TokenUsage};
use async_trait::async_trait;

use crate::tools::{Tool, ToolContext, ToolError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One scripted model call (the adapters' scripted model, held to the
/// same port as the real one).
pub use agents_adapters::memory::ScriptedTurn as Reply;

/// The scripted chat model of the adapters, recording every request.
pub type FakeModel = agents_adapters::memory::ScriptedChatModel;

/// Usage reported by every scripted call.
pub const USAGE: TokenUsage = TokenUsage {
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
};

/// A model that plays `replies` in order.
pub fn model(replies: Vec<Reply>) -> Arc<FakeModel> {
    Arc::new(FakeModel::new(replies))
}

/// A text answer in two deltas (split mid-word, so tests see deltas
/// joined as they came).
pub fn text(answer: &str) -> Reply {
    let middle = answer
        .char_indices()
        .nth(answer.chars().count() / 2)
        .map_or(answer.len(), |(i, _)| i);
    Reply::Stream(vec![
        Ok(ModelEvent::TextDelta(answer[..middle].to_owned())),
        Ok(ModelEvent::TextDelta(answer[middle..].to_owned())),
        Ok(ModelEvent::Usage(USAGE)),
        Ok(ModelEvent::Finished(FinishReason::Stop)),
    ])
}

/// A response asking for tools: `(name, arguments)` pairs.
pub fn calls(requested: &[(&str, &str)]) -> Reply {
    Reply::tool_calls(requested).with_usage(USAGE)
}

/// A tool returning its arguments.
pub struct EchoTool(pub &'static str);

#[async_trait]
impl Tool for EchoTool {
    fn name(&self) -> &str {
        self.0
    }
    fn description(&self) -> &str {
        "Echoes its text."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 1}},
            "required": ["text"],
            "additionalProperties": false
        })
    }
    async fn call(
        &self,
        _context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        Ok(format!(
            "echo: {}",
            arguments["text"].as_str().unwrap_or_default()
        ))
    }
}

/// A tool that always fails.
pub struct FailingTool;

#[async_trait]
impl Tool for FailingTool {
    fn name(&self) -> &str {
        "broken"
    }
    fn description(&self) -> &str {
        "Always fails."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object", "properties": {}})
    }
    async fn call(
        &self,
        _context: ToolContext,
        _arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        Err(ToolError::Failed("search failed: provider down".into()))
    }
}

/// A tool that finishes only when `parties` calls wait on it at once:
/// proves calls run concurrently (sequential calls would time out).
pub struct RendezvousTool {
    /// Tool name.
    pub name: &'static str,
    /// Shared with the other half.
    pub barrier: Arc<tokio::sync::Barrier>,
}

#[async_trait]
impl Tool for RendezvousTool {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "Waits for its partner."
    }
    fn category(&self) -> &str {
        "test"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object"})
    }
    async fn call(
        &self,
        _context: ToolContext,
        _arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        match tokio::time::timeout(Duration::from_secs(2), self.barrier.wait()).await {
            Ok(_) => Ok(format!("{} met its partner", self.name)),
            Err(_) => Err(ToolError::Failed(
                "partner never came: calls ran one by one".into(),
            )),
        }
    }
}
