//! The agent run loop: model calls, tool calls and handoffs of one chat turn,
//! every step reported as a [`RunEvent`] so streaming and non-streaming
//! callers share one code path.

mod schema;
mod step;
mod toolbox;

#[cfg(test)]
mod budget_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use agents_domain::conversation::ToolCallRecord;
use agents_domain::llm::{ChatMessage, ChatModel, LlmError, TokenUsage};

use crate::agents::AgentCatalog;
use crate::tools::{ToolContext, ToolRegistry};

pub use schema::validate_arguments;
pub use toolbox::HANDOFF_PREFIX;

/// Tunables of the run loop.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSettings {
    /// Model used by agents without their own (`OPENAI_MODEL`).
    pub default_model: String,
    /// Most model calls per run (`AGENT_MAX_TURNS`, at least 1).
    pub max_turns: u32,
    /// Longest a single tool call may take before it counts as failed.
    pub tool_timeout: Duration,
    /// Characters of a tool result kept in events and stored records.
    pub result_preview_chars: usize,
    /// Characters of a tool result the model sees; bounds the prompt.
    pub max_tool_result_chars: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            default_model: "gpt-4o-mini".into(),
            max_turns: 10,
            tool_timeout: Duration::from_secs(30),
            result_preview_chars: 200,
            max_tool_result_chars: 16_000,
        }
    }
}

/// What one run needs besides the agents and tools.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The agent to start with; unknown names fall back to `triage`.
    pub agent: String,
    /// Earlier user and assistant messages, oldest first (no tool traffic).
    pub history: Vec<ChatMessage>,
    /// The new user message.
    pub message: String,
    /// Who the run is for; tools stay inside this scope.
    pub context: ToolContext,
    /// Tools not offered in this run (e.g. `tavily_search` when the
    /// tenant's plan turns web search off).
    pub disabled_tools: BTreeSet<String>,
    /// Tokens (prompt and completion) the whole run may use; each model
    /// call is asked for at most what is left, and the run fails with
    /// [`RunError::TokenBudgetExhausted`] rather than call the model with
    /// nothing left. `None`: no budget.
    pub token_budget: Option<u32>,
}

/// One step of a run, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// A piece of answer text.
    Delta(String),
    /// A tool is about to run.
    ToolCall {
        /// Tool name.
        name: String,
        /// Arguments as the model sent them (a JSON string when they were
        /// not valid JSON).
        arguments: serde_json::Value,
    },
    /// A tool finished (or failed; the preview then says why).
    ToolResult {
        /// Tool name.
        name: String,
        /// The start of the result the model saw.
        result_preview: String,
    },
    /// The conversation moved to another agent.
    Handoff {
        /// The agent that handed off.
        from: String,
        /// The agent that takes over.
        to: String,
    },
}

/// A handoff that happened during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRecord {
    /// The agent that handed off.
    pub from: String,
    /// The agent that took over.
    pub to: String,
}

impl std::fmt::Display for HandoffRecord {
    /// `triage->code_assistant`, as `metadata.handoffs` lists them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{}", self.from, self.to)
    }
}

/// The outcome of a run that ended with a text answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The answer: every text delta of the run, as streamed.
    pub text: String,
    /// The agent that answered (after handoffs).
    pub agent: String,
    /// The model that agent uses.
    pub model: String,
    /// Tools offered to the answering agent (handoff tools excluded).
    pub tools_available: Vec<String>,
    /// Tool calls made, in the order requested.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Handoffs made, in order.
    pub handoffs: Vec<HandoffRecord>,
    /// Tokens summed over every model call.
    pub usage: TokenUsage,
    /// Model calls made.
    pub model_calls: u32,
}

/// Why a run ended without an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// A model call failed (before or during its stream).
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The model still asked for tools after `max_turns` calls. We fail the
    /// run rather than invent an answer: the client gets a clear error and
    /// the stored conversation keeps only the user's message.
    #[error("the agent did not answer within {max_turns} model calls")]
    MaxTurnsExceeded {
        /// The configured limit.
        max_turns: u32,
    },
    /// The run's token budget was spent before the model answered in text
    /// (it asked for tools, and the calls used what was left).
    #[error("the tokens budget was spent before the agent answered")]
    TokenBudgetExhausted,
}

/// A failed run: the error and what it consumed until then.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFailure {
    /// What went wrong.
    pub error: RunError,
    /// Tokens used before the failure (billing may still count them).
    pub usage: TokenUsage,
    /// The agent active when it failed.
    pub agent: String,
}

/// Runs agents: holds the model, the agents and the tools, and is shared by
/// every request.
#[derive(Clone)]
pub struct AgentRuntime {
    model: Option<Arc<dyn ChatModel>>,
    catalog: Arc<AgentCatalog>,
    tools: Arc<ToolRegistry>,
    settings: RuntimeSettings,
}

impl AgentRuntime {
    /// A runtime over `model`, the agents of `catalog` and the tools of `tools`.
    pub fn new(
        model: Arc<dyn ChatModel>,
        catalog: Arc<AgentCatalog>,
        tools: Arc<ToolRegistry>,
        settings: RuntimeSettings,
    ) -> Self {
        Self {
            model: Some(model),
            catalog,
            tools,
            settings,
        }
    }

    /// A runtime with no model provider configured: the server still
    /// starts, lists agents and tools, and every chat is refused with
    /// [`LlmError::Unavailable`] (503 `llm_unavailable`) before anything
    /// is stored.
    pub fn without_model(
        catalog: Arc<AgentCatalog>,
        tools: Arc<ToolRegistry>,
        settings: RuntimeSettings,
    ) -> Self {
        Self {
            model: None,
            catalog,
            tools,
            settings,
        }
    }

    /// Whether a model provider is configured.
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The agents this runtime knows.
    pub fn catalog(&self) -> &AgentCatalog {
        &self.catalog
    }

    /// The settings in force.
    pub fn settings(&self) -> &RuntimeSettings {
        &self.settings
    }

    /// The model `agent` runs on: its override, or the default model.
    pub fn model_of(&self, agent: &str) -> String {
        self.catalog
            .get(agent)
            .and_then(|a| a.model.clone())
            .unwrap_or_else(|| self.settings.default_model.clone())
    }

    /// Runs one chat turn: calls the model, runs the tools it asks for
    /// (concurrently), follows handoffs, and repeats until the model
    /// answers in text or `max_turns` calls were made. Each step is passed
    /// to `emit` as it happens. Tool failures and bad tool arguments become
    /// tool results the model sees; only model failures and exhaustion of
    /// `max_turns` fail the run.
    pub async fn run(
        &self,
        request: RunRequest,
        emit: &(dyn Fn(RunEvent) + Send + Sync),
    ) -> Result<RunSummary, RunFailure> {
        step::RunLoop::new(self, request, emit).run().await
    }
}
