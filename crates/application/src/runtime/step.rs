//! The state of one run and its loop: call the model, stream its text, run
//! the tools it asked for, follow a handoff, repeat.

use agents_domain::conversation::ToolCallRecord;
use agents_domain::llm::{ChatMessage, LlmError, ModelEvent, ModelRequest, TokenUsage, ToolCall};
use futures::StreamExt;
use futures::future::join_all;

use super::toolbox::{Offer, execute, parse_arguments, truncate};
use super::{AgentRuntime, HandoffRecord, RunError, RunEvent, RunFailure, RunRequest, RunSummary};
use crate::agents::AgentDefinition;

/// What one model call produced.
struct ModelTurn {
    text: String,
    calls: Vec<ToolCall>,
}

pub(super) struct RunLoop<'a> {
    runtime: &'a AgentRuntime,
    request: RunRequest,
    emit: &'a (dyn Fn(RunEvent) + Send + Sync),
    agent: &'a AgentDefinition,
    messages: Vec<ChatMessage>,
    text: String,
    usage: TokenUsage,
    tool_calls: Vec<ToolCallRecord>,
    handoffs: Vec<HandoffRecord>,
}

impl<'a> RunLoop<'a> {
    pub(super) fn new(
        runtime: &'a AgentRuntime,
        mut request: RunRequest,
        emit: &'a (dyn Fn(RunEvent) + Send + Sync),
    ) -> Self {
        let agent = runtime.catalog.resolve(Some(&request.agent));
        let history = std::mem::take(&mut request.history);
        let mut messages = Vec::with_capacity(history.len() + 2);
        // Slot 0 holds the active agent's instructions; a handoff rewrites it.
        messages.push(ChatMessage::System {
            content: agent.instructions.clone(),
        });
        messages.extend(history);
        messages.push(ChatMessage::User {
            content: request.message.clone(),
        });
        Self {
            runtime,
            request,
            emit,
            agent,
            messages,
            text: String::new(),
            usage: TokenUsage::default(),
            tool_calls: Vec::new(),
            handoffs: Vec::new(),
        }
    }

    pub(super) async fn run(mut self) -> Result<RunSummary, RunFailure> {
        let max_turns = self.runtime.settings.max_turns.max(1);
        for call in 1..=max_turns {
            let offer = self.offer();
            self.messages[0] = ChatMessage::System {
                content: self.agent.instructions.clone(),
            };
            let max_output_tokens = match self.tokens_left() {
                Some(0) => return Err(self.failure(RunError::TokenBudgetExhausted)),
                left => left,
            };
            let request = ModelRequest {
                model: self.model(),
                messages: self.messages.clone(),
                tools: offer.specs.clone(),
                max_output_tokens,
            };
            let turn = match self.call_model(request).await {
                Ok(turn) => turn,
                Err(error) => return Err(self.failure(error)),
            };
            if turn.calls.is_empty() {
                if turn.text.trim().is_empty() {
                    // Storing an empty answer would show the user nothing
                    // and look like success: the provider failed to answer.
                    return Err(self.failure(RunError::Llm(LlmError::Provider {
                        status: None,
                        message: "the model answered with neither text nor a tool call".into(),
                        retry_after: None,
                    })));
                }
                return Ok(self.summary(&offer, call));
            }
            self.messages.push(ChatMessage::Assistant {
                content: turn.text,
                tool_calls: turn.calls.clone(),
            });
            self.run_calls(&offer, turn.calls).await;
        }
        Err(self.failure(RunError::MaxTurnsExceeded { max_turns }))
    }

    fn offer(&self) -> Offer {
        Offer::for_agent(
            self.agent,
            &self.runtime.tools,
            &self.runtime.catalog,
            &self.request.disabled_tools,
        )
    }

    /// What is left of the run's token budget after the calls made so far.
    fn tokens_left(&self) -> Option<u32> {
        self.request
            .token_budget
            .map(|budget| budget.saturating_sub(self.usage.total_tokens))
    }

    fn model(&self) -> String {
        self.agent
            .model
            .clone()
            .unwrap_or_else(|| self.runtime.settings.default_model.clone())
    }

    /// Streams one model call, passing text on as it arrives.
    async fn call_model(&mut self, request: ModelRequest) -> Result<ModelTurn, RunError> {
        let model = self.runtime.model.as_ref().ok_or_else(|| {
            LlmError::Unavailable("no language model provider is configured".into())
        })?;
        let mut stream = model.stream(request).await?;
        let mut turn = ModelTurn {
            text: String::new(),
            calls: Vec::new(),
        };
        while let Some(event) = stream.next().await {
            match event? {
                ModelEvent::TextDelta(delta) if delta.is_empty() => {}
                ModelEvent::TextDelta(delta) => {
                    // Text of an earlier call (e.g. before a handoff) and this
                    // one would otherwise run together in the stored answer.
                    if turn.text.is_empty()
                        && !self.text.is_empty()
                        && !self.text.ends_with(char::is_whitespace)
                    {
                        self.push_text("\n\n".to_owned());
                    }
                    turn.text.push_str(&delta);
                    self.push_text(delta);
                }
                ModelEvent::ToolCall(call) => turn.calls.push(call),
                ModelEvent::Usage(usage) => self.usage.add(usage),
                ModelEvent::Finished(_) => {}
            }
        }
        Ok(turn)
    }

    fn push_text(&mut self, delta: String) {
        self.text.push_str(&delta);
        (self.emit)(RunEvent::Delta(delta));
    }

    /// Answers every call of one model response: the first valid handoff
    /// switches the agent, the tools run concurrently, and each call gets
    /// exactly one tool message (the API rejects a history missing one).
    async fn run_calls(&mut self, offer: &Offer, calls: Vec<ToolCall>) {
        let mut results: Vec<Option<String>> = vec![None; calls.len()];
        let mut next_agent: Option<&'a AgentDefinition> = None;
        let mut tool_jobs = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            if let Some(target) = offer.handoff_target(call) {
                results[i] = Some(match next_agent {
                    None => {
                        let to = self.runtime.catalog.resolve(Some(target));
                        next_agent = Some(to);
                        format!(
                            "Transferred to {}. You are now the {} agent.",
                            to.name, to.name
                        )
                    }
                    Some(to) => format!(
                        "Ignored: the conversation was already transferred to {}.",
                        to.name
                    ),
                });
                continue;
            }
            let arguments = parse_arguments(&call.arguments);
            let shown = match &arguments {
                Ok(value) => value.clone(),
                Err((raw, _)) => raw.clone(),
            };
            (self.emit)(RunEvent::ToolCall {
                name: call.name.clone(),
                arguments: shown.clone(),
            });
            tool_jobs.push((i, call, arguments, shown));
        }
        if let Some(to) = next_agent {
            let record = HandoffRecord {
                from: self.agent.name.clone(),
                to: to.name.clone(),
            };
            (self.emit)(RunEvent::Handoff {
                from: record.from.clone(),
                to: record.to.clone(),
            });
            self.handoffs.push(record);
        }

        let settings = &self.runtime.settings;
        let context = self.request.context;
        let emit = self.emit;
        let outputs = join_all(tool_jobs.iter().map(|(_, call, arguments, _)| async move {
            let output = execute(offer, call, arguments, context, settings.tool_timeout).await;
            let preview = truncate(&output, settings.result_preview_chars);
            emit(RunEvent::ToolResult {
                name: call.name.clone(),
                result_preview: preview.clone(),
            });
            (output, preview)
        }))
        .await;
        for ((i, call, _, shown), (output, preview)) in tool_jobs.into_iter().zip(outputs) {
            self.tool_calls.push(ToolCallRecord {
                name: call.name.clone(),
                arguments: shown,
                result_preview: preview,
            });
            results[i] = Some(truncate(&output, settings.max_tool_result_chars));
        }
        for (call, result) in calls.iter().zip(results) {
            self.messages.push(ChatMessage::Tool {
                tool_call_id: call.id.clone(),
                content: result.unwrap_or_default(),
            });
        }
        if let Some(to) = next_agent {
            self.agent = to;
        }
    }

    fn summary(self, offer: &Offer, model_calls: u32) -> RunSummary {
        RunSummary {
            model: self.model(),
            text: self.text,
            agent: self.agent.name.clone(),
            tools_available: offer.tool_names(),
            tool_calls: self.tool_calls,
            handoffs: self.handoffs,
            usage: self.usage,
            model_calls,
        }
    }

    fn failure(&self, error: RunError) -> RunFailure {
        RunFailure {
            error,
            usage: self.usage,
            agent: self.agent.name.clone(),
        }
    }
}
