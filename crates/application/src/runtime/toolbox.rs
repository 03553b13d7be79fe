//! What an agent is offered (its available, allowed tools plus one
//! `transfer_to_<agent>` tool per handoff target) and how one tool call is
//! executed: parse, validate, run with a timeout, and turn every failure into
//! a result the model can read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use agents_domain::llm::{ToolCall, ToolSpec};
use serde_json::Value;

use super::schema::validate_arguments;
use crate::agents::{AgentCatalog, AgentDefinition};
use crate::tools::{Tool, ToolContext, ToolRegistry};

/// Name prefix of the handoff tools offered to the model.
pub const HANDOFF_PREFIX: &str = "transfer_to_";

/// The tools and handoffs one agent is offered in one run.
pub(super) struct Offer {
    /// Callable tools, by name order.
    pub tools: Vec<Arc<dyn Tool>>,
    /// Agents it may hand off to.
    pub handoffs: Vec<String>,
    /// What the model is told: tools first, then handoffs.
    pub specs: Vec<ToolSpec>,
}

impl Offer {
    /// Tools an agent may call now: registered, available in this deployment
    /// and not disabled for this run. Handoff targets missing from the
    /// catalog are skipped (the catalog checks them at start anyway).
    pub fn for_agent(
        agent: &AgentDefinition,
        registry: &ToolRegistry,
        catalog: &AgentCatalog,
        disabled: &BTreeSet<String>,
    ) -> Self {
        let tools: Vec<Arc<dyn Tool>> = agent
            .tools
            .iter()
            .filter(|name| !disabled.contains(*name))
            .filter_map(|name| registry.get(name))
            .filter(|tool| tool.available())
            .cloned()
            .collect();
        let targets: Vec<&AgentDefinition> = agent
            .handoffs
            .iter()
            .filter_map(|name| catalog.get(name))
            .collect();
        let mut specs: Vec<ToolSpec> = tools
            .iter()
            .map(|tool| ToolSpec {
                name: tool.name().to_owned(),
                description: tool.description().to_owned(),
                parameters: tool.parameters(),
            })
            .collect();
        specs.extend(targets.iter().map(|target| ToolSpec {
            name: format!("{HANDOFF_PREFIX}{}", target.name),
            description: format!(
                "Hand off the conversation to the {} agent: {}",
                target.name, target.description
            ),
            parameters: serde_json::json!({"type": "object", "properties": {}, "additionalProperties": false}),
        }));
        Self {
            tools,
            handoffs: targets.iter().map(|t| t.name.clone()).collect(),
            specs,
        }
    }

    /// The handoff target a call names, when it is one of ours.
    pub fn handoff_target(&self, call: &ToolCall) -> Option<&str> {
        let target = call.name.strip_prefix(HANDOFF_PREFIX)?;
        self.handoffs
            .iter()
            .find(|h| h.as_str() == target)
            .map(String::as_str)
    }

    /// Names of the callable tools.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name().to_owned()).collect()
    }

    fn tool(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.iter().find(|t| t.name() == name)
    }
}

/// Arguments as the model wrote them, parsed when possible. An empty string
/// reads as `{}`: some models send nothing for tools without parameters.
pub(super) fn parse_arguments(raw: &str) -> Result<Value, (Value, String)> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(raw).map_err(|e| {
        (
            Value::String(raw.to_owned()),
            format!("not valid JSON ({e})"),
        )
    })
}

/// Runs one call and returns what the model will read: the tool's output, or
/// a sentence saying why there is none. Never fails.
pub(super) async fn execute(
    offer: &Offer,
    call: &ToolCall,
    arguments: &Result<Value, (Value, String)>,
    context: ToolContext,
    timeout: Duration,
) -> String {
    let Some(tool) = offer.tool(&call.name) else {
        let names = offer.tool_names();
        return if names.is_empty() {
            format!("unknown tool '{}': no tools are available", call.name)
        } else {
            format!(
                "unknown tool '{}': available tools are {}",
                call.name,
                names.join(", ")
            )
        };
    };
    let arguments = match arguments {
        Ok(arguments) => arguments,
        Err((_, why)) => return format!("invalid arguments: {why}"),
    };
    if let Err(why) = validate_arguments(&tool.parameters(), arguments) {
        return format!("invalid arguments: {why}");
    }
    match tokio::time::timeout(timeout, tool.call(context, arguments.clone())).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!(
            "{} failed: no result within {} s",
            call.name,
            timeout.as_secs_f32()
        ),
    }
}

/// The first `chars` characters of `text`, with "..." when cut.
pub(super) fn truncate(text: &str, chars: usize) -> String {
    let mut indices = text.char_indices();
    match indices.nth(chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 2), "hé...");
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn empty_arguments_read_as_an_empty_object() {
        assert_eq!(parse_arguments("  "), Ok(serde_json::json!({})));
        assert_eq!(
            parse_arguments("{\"a\":1}"),
            Ok(serde_json::json!({"a": 1}))
        );
        assert!(matches!(
            parse_arguments("{oops"),
            Err((Value::String(_), _))
        ));
    }
}
