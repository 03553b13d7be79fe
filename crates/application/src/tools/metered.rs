//! A tool decorator that counts calls by tool and outcome, so every tool
//! (built in or an embedder's) is measured without touching its code.

use std::sync::Arc;

use async_trait::async_trait;
use metrics::counter;

use super::{Tool, ToolContext, ToolError};

/// Counter `{tool, outcome}`: tool calls (`outcome` = `ok`, `error`,
/// `cancelled`); the HTTP layer describes it for `/metrics`.
pub const TOOL_CALLS_TOTAL: &str = "tool_calls_total";

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolOutcome {
    /// The tool returned a result.
    Ok,
    /// The tool returned an error (bad arguments included).
    Error,
    /// The call was dropped before finishing (the run's tool timeout).
    Cancelled,
}

impl ToolOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ToolOutcome::Ok => "ok",
            ToolOutcome::Error => "error",
            ToolOutcome::Cancelled => "cancelled",
        }
    }
}

fn record_tool_call(tool: &str, outcome: ToolOutcome) {
    counter!(TOOL_CALLS_TOTAL, "tool" => tool.to_owned(), "outcome" => outcome.as_str())
        .increment(1);
}

/// Wraps a tool; behaves exactly like it and records `tool_calls_total`.
pub struct MeteredTool {
    inner: Arc<dyn Tool>,
}

impl MeteredTool {
    /// `tool`, measured.
    pub fn wrap(tool: Arc<dyn Tool>) -> Arc<dyn Tool> {
        Arc::new(Self { inner: tool })
    }
}

/// Records `cancelled` unless the call finished: the runtime drops a call
/// that overruns its tool timeout, and a drop is the only sign of that.
struct Pending<'a> {
    tool: &'a str,
    outcome: Option<ToolOutcome>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        record_tool_call(self.tool, self.outcome.unwrap_or(ToolOutcome::Cancelled));
    }
}

#[async_trait]
impl Tool for MeteredTool {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn description(&self) -> &str {
        self.inner.description()
    }
    fn category(&self) -> &str {
        self.inner.category()
    }
    fn parameters(&self) -> serde_json::Value {
        self.inner.parameters()
    }
    fn available(&self) -> bool {
        self.inner.available()
    }
    async fn call(
        &self,
        context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        let mut pending = Pending {
            tool: self.inner.name(),
            outcome: None,
        };
        let result = self.inner.call(context, arguments).await;
        pending.outcome = Some(match result {
            Ok(_) => ToolOutcome::Ok,
            Err(_) => ToolOutcome::Error,
        });
        result
    }
}
