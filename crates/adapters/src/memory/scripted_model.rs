//! A deterministic chat model for tests, benchmarks and offline runs: it
//! plays scripted replies in order, or echoes the user in "echo" mode. It
//! records every request so tests can check what the model was sent.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::llm::{
    ChatMessage, ChatModel, FinishReason, LlmError, ModelEvent, ModelRequest, ModelStream,
    TokenUsage, ToolCall,
};
use async_trait::async_trait;
use futures::StreamExt;

/// One scripted model call.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptedTurn {
    /// The call fails before any output (as a refused HTTP request).
    Fail(LlmError),
    /// The call streams these items in order (an `Err` item is a failure
    /// mid-stream).
    Stream(Vec<Result<ModelEvent, LlmError>>),
}

/// Usage reported by scripted replies unless replaced.
const SCRIPT_USAGE: TokenUsage = TokenUsage {
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
};

impl ScriptedTurn {
    /// A text answer streamed word by word, then usage and `Stop`.
    pub fn text(answer: &str) -> Self {
        let mut events: Vec<_> = split_words(answer)
            .into_iter()
            .map(|delta| Ok(ModelEvent::TextDelta(delta)))
            .collect();
        events.push(Ok(ModelEvent::Usage(SCRIPT_USAGE)));
        events.push(Ok(ModelEvent::Finished(FinishReason::Stop)));
        Self::Stream(events)
    }

    /// One tool call with `arguments` as JSON text.
    pub fn tool_call(name: &str, arguments: &str) -> Self {
        Self::tool_calls(&[(name, arguments)])
    }

    /// Several tool calls in one response (ids `call_0`, `call_1`, ...).
    pub fn tool_calls(calls: &[(&str, &str)]) -> Self {
        let mut events: Vec<_> = calls
            .iter()
            .enumerate()
            .map(|(i, (name, arguments))| {
                Ok(ModelEvent::ToolCall(ToolCall {
                    id: format!("call_{i}"),
                    name: (*name).to_owned(),
                    arguments: (*arguments).to_owned(),
                }))
            })
            .collect();
        events.push(Ok(ModelEvent::Usage(SCRIPT_USAGE)));
        events.push(Ok(ModelEvent::Finished(FinishReason::ToolCalls)));
        Self::Stream(events)
    }

    /// A call that fails before any output.
    pub fn fail(error: LlmError) -> Self {
        Self::Fail(error)
    }

    /// Replaces the reported usage (adds it when there was none).
    pub fn with_usage(self, usage: TokenUsage) -> Self {
        match self {
            Self::Fail(error) => Self::Fail(error),
            Self::Stream(mut events) => {
                events.retain(|e| !matches!(e, Ok(ModelEvent::Usage(_))));
                let at = events
                    .iter()
                    .position(|e| matches!(e, Ok(ModelEvent::Finished(_))))
                    .unwrap_or(events.len());
                events.insert(at, Ok(ModelEvent::Usage(usage)));
                Self::Stream(events)
            }
        }
    }
}

enum Mode {
    Script(Mutex<VecDeque<ScriptedTurn>>),
    Echo,
}

/// A fake [`ChatModel`]: scripted per test, or echoing (see [`Self::echo`]).
pub struct ScriptedChatModel {
    mode: Mode,
    delay: Duration,
    requests: Mutex<Vec<ModelRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not make every later call panic too.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ScriptedChatModel {
    /// A model playing `turns` in order, one per call; once they run out
    /// every call fails with [`LlmError::Unavailable`].
    pub fn new(turns: impl IntoIterator<Item = ScriptedTurn>) -> Self {
        Self {
            mode: Mode::Script(Mutex::new(turns.into_iter().collect())),
            delay: Duration::ZERO,
            requests: Mutex::default(),
        }
    }

    /// A model that never runs out, for end-to-end tests and benchmarks:
    /// it answers `Echo: <last user message>` (plus `(after N earlier
    /// messages)` when history was sent), word by word. A user message
    /// `/call NAME {json}` makes it call the offered tool `NAME` first (also
    /// `transfer_to_<agent>`), then answer with the tool results. Usage is
    /// about one token per four characters.
    pub fn echo() -> Self {
        Self {
            mode: Mode::Echo,
            delay: Duration::ZERO,
            requests: Mutex::default(),
        }
    }

    /// The same model waiting `delay` before each streamed item, so a test
    /// can act while a run is in flight.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds a reply to the end of the script (no effect in echo mode).
    pub fn push(&self, turn: ScriptedTurn) {
        if let Mode::Script(turns) = &self.mode {
            lock(turns).push_back(turn);
        }
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<ModelRequest> {
        lock(&self.requests).clone()
    }

    fn next_turn(&self, request: &ModelRequest) -> ScriptedTurn {
        match &self.mode {
            Mode::Script(turns) => lock(turns).pop_front().unwrap_or_else(|| {
                ScriptedTurn::Fail(LlmError::Unavailable(
                    "the scripted model has no more replies".into(),
                ))
            }),
            Mode::Echo => echo_turn(request),
        }
    }
}

#[async_trait]
impl ChatModel for ScriptedChatModel {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, LlmError> {
        let turn = self.next_turn(&request);
        lock(&self.requests).push(request);
        let items = match turn {
            ScriptedTurn::Fail(error) => return Err(error),
            ScriptedTurn::Stream(items) => items,
        };
        let delay = self.delay;
        if delay.is_zero() {
            return Ok(Box::pin(futures::stream::iter(items)));
        }
        Ok(Box::pin(futures::stream::iter(items).then(
            move |item| async move {
                tokio::time::sleep(delay).await;
                item
            },
        )))
    }
}

/// Splits text into words, each keeping its trailing whitespace, so the
/// deltas concatenate back to the text.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if !c.is_whitespace() && current.ends_with(char::is_whitespace) {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn echo_turn(request: &ModelRequest) -> ScriptedTurn {
    let last_user = request
        .messages
        .iter()
        .rposition(|m| matches!(m, ChatMessage::User { .. }));
    let Some(last_user) = last_user else {
        return ScriptedTurn::text("Echo: (no user message)");
    };
    let user_text = match &request.messages[last_user] {
        ChatMessage::User { content } => content.as_str(),
        _ => "",
    };
    let after_user = &request.messages[last_user + 1..];
    let earlier = request.messages[..last_user]
        .iter()
        .filter(|m| matches!(m, ChatMessage::User { .. } | ChatMessage::Assistant { .. }))
        .count();
    let mut answer = format!("Echo: {user_text}");
    if earlier > 0 {
        answer.push_str(&format!(" (after {earlier} earlier messages)"));
    }
    if after_user.is_empty()
        && let Some(call) = requested_call(user_text, request)
    {
        return with_echo_usage(ScriptedTurn::tool_call(&call.0, &call.1), request, "");
    }
    let results: Vec<&str> = after_user
        .iter()
        .filter_map(|m| match m {
            ChatMessage::Tool { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    if !results.is_empty() {
        answer.push_str(&format!("\nTool results: {}", results.join(" | ")));
    }
    with_echo_usage(ScriptedTurn::text(&answer), request, &answer)
}

/// `/call NAME {json}` naming an offered tool.
fn requested_call(user_text: &str, request: &ModelRequest) -> Option<(String, String)> {
    let rest = user_text.trim().strip_prefix("/call ")?.trim();
    let (name, arguments) = rest.split_once(char::is_whitespace).unwrap_or((rest, "{}"));
    request
        .tools
        .iter()
        .any(|t| t.name == name)
        .then(|| (name.to_owned(), arguments.trim().to_owned()))
}

fn with_echo_usage(turn: ScriptedTurn, request: &ModelRequest, answer: &str) -> ScriptedTurn {
    let prompt_chars: usize = request
        .messages
        .iter()
        .map(|m| match m {
            ChatMessage::System { content } | ChatMessage::User { content } => content.len(),
            ChatMessage::Assistant { content, .. } | ChatMessage::Tool { content, .. } => {
                content.len()
            }
        })
        .sum();
    let tokens = |chars: usize| u32::try_from(chars.div_ceil(4).max(1)).unwrap_or(u32::MAX);
    let (prompt, completion) = (tokens(prompt_chars), tokens(answer.len()));
    turn.with_usage(TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
    })
}

#[cfg(test)]
mod tests {
    use agents_domain::llm::ToolSpec;

    use super::*;

    fn request(messages: Vec<ChatMessage>, tools: &[&str]) -> ModelRequest {
        ModelRequest {
            model: "m".into(),
            messages,
            tools: tools
                .iter()
                .map(|name| ToolSpec {
                    name: (*name).into(),
                    description: String::new(),
                    parameters: serde_json::json!({}),
                })
                .collect(),
            max_output_tokens: None,
        }
    }

    async fn events(
        model: &ScriptedChatModel,
        request: ModelRequest,
    ) -> Result<Vec<ModelEvent>, LlmError> {
        let stream = model.stream(request).await?;
        stream.collect::<Vec<_>>().await.into_iter().collect()
    }

    fn text_of(events: &[ModelEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                ModelEvent::TextDelta(d) => Some(d.as_str()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn scripted_replies_play_in_order_then_run_out() {
        let model = ScriptedChatModel::new([
            ScriptedTurn::tool_call("t", "{}"),
            ScriptedTurn::text("two words"),
        ]);
        let first = events(&model, request(vec![], &[]))
            .await
            .expect("scripted");
        assert!(
            matches!(&first[0], ModelEvent::ToolCall(call) if call.name == "t" && call.id == "call_0")
        );
        let second = events(&model, request(vec![], &[]))
            .await
            .expect("scripted");
        assert_eq!(
            second[..2],
            [
                ModelEvent::TextDelta("two ".into()),
                ModelEvent::TextDelta("words".into())
            ]
        );
        assert!(matches!(
            events(&model, request(vec![], &[])).await,
            Err(LlmError::Unavailable(_))
        ));
        assert_eq!(model.requests().len(), 3);
    }

    #[tokio::test]
    async fn echo_mode_repeats_the_user_and_counts_history() {
        let model = ScriptedChatModel::echo().with_delay(Duration::from_millis(1));
        let history = vec![
            ChatMessage::System {
                content: "sys".into(),
            },
            ChatMessage::User {
                content: "hi".into(),
            },
            ChatMessage::Assistant {
                content: "Echo: hi".into(),
                tool_calls: vec![],
            },
            ChatMessage::User {
                content: "again".into(),
            },
        ];
        let out = events(&model, request(history, &[])).await.expect("echo");
        assert_eq!(text_of(&out), "Echo: again (after 2 earlier messages)");
        assert!(matches!(
            out.last(),
            Some(ModelEvent::Finished(FinishReason::Stop))
        ));
        assert!(
            out.iter()
                .any(|e| matches!(e, ModelEvent::Usage(u) if u.total_tokens > 0))
        );
    }

    #[tokio::test]
    async fn echo_mode_calls_offered_tools_on_request_then_reports_results() {
        let model = ScriptedChatModel::echo();
        let ask = ChatMessage::User {
            content: "/call get_current_time {}".into(),
        };
        let out = events(&model, request(vec![ask.clone()], &["get_current_time"]))
            .await
            .expect("echo");
        assert!(matches!(&out[0], ModelEvent::ToolCall(call) if call.name == "get_current_time"));
        let not_offered = events(&model, request(vec![ask.clone()], &[]))
            .await
            .expect("echo");
        assert_eq!(text_of(&not_offered), "Echo: /call get_current_time {}");
        let answered = vec![
            ask,
            ChatMessage::Assistant {
                content: String::new(),
                tool_calls: vec![],
            },
            ChatMessage::Tool {
                tool_call_id: "call_0".into(),
                content: "noon".into(),
            },
        ];
        let out = events(&model, request(answered, &["get_current_time"]))
            .await
            .expect("echo");
        assert_eq!(
            text_of(&out),
            "Echo: /call get_current_time {}\nTool results: noon"
        );
    }
}
