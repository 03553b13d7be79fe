//! Turns a streamed Chat Completions body into model events: text deltas as
//! they come, tool calls assembled from their fragments (by index), usage,
//! then `Finished`. Each wait for the next network chunk is bounded by the
//! timeout; a stalled stream ends with [`LlmError::Timeout`].

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::time::Duration;

use agents_domain::llm::{FinishReason, LlmError, ModelEvent, ModelStream, TokenUsage, ToolCall};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::sse::SseDecoder;
use super::wire::{Chunk, finish_reason};

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: String,
    arguments: String,
}

struct State {
    body: Body,
    timeout: Duration,
    decoder: SseDecoder,
    pending: VecDeque<Result<ModelEvent, LlmError>>,
    calls: BTreeMap<u32, PartialCall>,
    usage: Option<TokenUsage>,
    finish: Option<FinishReason>,
    ended: bool,
}

/// The events of one successful (2xx) streamed response.
pub(super) fn model_stream(response: reqwest::Response, timeout: Duration) -> ModelStream {
    let state = State {
        body: Box::pin(response.bytes_stream()),
        timeout,
        decoder: SseDecoder::default(),
        pending: VecDeque::new(),
        calls: BTreeMap::new(),
        usage: None,
        finish: None,
        ended: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, state));
            }
            if state.ended {
                return None;
            }
            state.pull().await;
        }
    }))
}

impl State {
    /// Reads one network chunk (or the end, an error or a timeout) and
    /// queues what it completes.
    async fn pull(&mut self) {
        match tokio::time::timeout(self.timeout, self.body.next()).await {
            Err(_) => self.fail(LlmError::Timeout),
            Ok(Some(Err(error))) => self.fail(LlmError::Provider {
                status: None,
                message: format!("the model stream broke off: {error}"),
                retry_after: None,
            }),
            Ok(Some(Ok(bytes))) => {
                for data in self.decoder.feed(&bytes) {
                    self.data(&data);
                    if self.ended {
                        return;
                    }
                }
            }
            Ok(None) => {
                if let Some(data) = self.decoder.finish() {
                    self.data(&data);
                }
                if self.ended {
                    return;
                }
                // Without `[DONE]` the answer is complete only if the model
                // said why it stopped; otherwise the connection was cut.
                if self.finish.is_some() {
                    self.complete();
                } else {
                    self.fail(LlmError::Provider {
                        status: None,
                        message: "the model stream ended before the answer was complete".into(),
                        retry_after: None,
                    });
                }
            }
        }
    }

    fn data(&mut self, data: &str) {
        if data.trim() == "[DONE]" {
            self.complete();
            return;
        }
        let chunk: Chunk = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(error) => {
                let start: String = data.chars().take(120).collect();
                return self.fail(LlmError::Provider {
                    status: None,
                    message: format!("unreadable stream chunk ({error}): {start}"),
                    retry_after: None,
                });
            }
        };
        if let Some(error) = chunk.error {
            return self.fail(LlmError::Provider {
                status: None,
                message: error.describe(),
                retry_after: None,
            });
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    self.pending.push_back(Ok(ModelEvent::TextDelta(text)));
                }
                for (position, fragment) in
                    delta.tool_calls.unwrap_or_default().into_iter().enumerate()
                {
                    // Servers that omit `index` send each call whole.
                    let index = fragment
                        .index
                        .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
                    let call = self.calls.entry(index).or_default();
                    if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
                        call.id = Some(id);
                    }
                    if let Some(function) = fragment.function {
                        if let Some(name) = function.name {
                            call.name.push_str(&name);
                        }
                        if let Some(arguments) = function.arguments {
                            call.arguments.push_str(&arguments);
                        }
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
    }

    /// Queues the assembled tool calls, the usage and `Finished`.
    fn complete(&mut self) {
        let calls = std::mem::take(&mut self.calls);
        let had_calls = !calls.is_empty();
        for (index, call) in calls {
            self.pending.push_back(Ok(ModelEvent::ToolCall(ToolCall {
                id: call.id.unwrap_or_else(|| format!("call_{index}")),
                name: call.name,
                arguments: call.arguments,
            })));
        }
        if let Some(usage) = self.usage.take() {
            self.pending.push_back(Ok(ModelEvent::Usage(usage)));
        }
        let reason = self.finish.take().unwrap_or(if had_calls {
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        });
        self.pending.push_back(Ok(ModelEvent::Finished(reason)));
        self.ended = true;
    }

    fn fail(&mut self, error: LlmError) {
        self.pending.push_back(Err(error));
        self.ended = true;
    }
}
