//! `get_current_time`: the current UTC time.

use std::sync::Arc;

use agents_domain::clock::Clock;
use async_trait::async_trait;
use time::format_description::well_known::Rfc3339;

use super::{Tool, ToolContext, ToolError};

/// Tells the model the current date and time in UTC.
pub struct CurrentTimeTool {
    clock: Arc<dyn Clock>,
}

impl CurrentTimeTool {
    /// A tool reading `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

#[async_trait]
impl Tool for CurrentTimeTool {
    fn name(&self) -> &str {
        "get_current_time"
    }
    fn description(&self) -> &str {
        "Get the current date and time in UTC (RFC 3339)."
    }
    fn category(&self) -> &str {
        "utility"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object", "properties": {}, "additionalProperties": false})
    }
    async fn call(
        &self,
        _context: ToolContext,
        _arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        self.clock
            .now()
            .format(&Rfc3339)
            .map(|now| format!("Current UTC time: {now}"))
            .map_err(|e| ToolError::Failed(format!("could not format the time: {e}")))
    }
}
