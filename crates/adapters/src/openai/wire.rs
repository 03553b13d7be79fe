//! The Chat Completions wire format. Requests are built with async-openai's
//! types, so their shape follows the published API. Streamed chunks and
//! error bodies are read with the lenient private types below: async-openai's
//! chunk type requires fields (`created`, `object`, a closed `finish_reason`
//! enum) that several OpenAI-compatible servers omit or extend, and one odd
//! field must not fail a whole answer.

use agents_domain::llm::{ChatMessage, FinishReason, ModelRequest, TokenUsage};
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionCall, FunctionObject,
};
use serde::Deserialize;

use super::TokenLimitField;

/// The request body: streamed, with usage in the last chunk, tools as JSON
/// Schema functions (omitted when there are none: an empty list is refused),
/// and the call's output cap in the field the server reads.
pub(super) fn request_body(
    request: &ModelRequest,
    cap_field: TokenLimitField,
) -> CreateChatCompletionRequest {
    let tools = (!request.tools.is_empty()).then(|| {
        request
            .tools
            .iter()
            .map(|tool| {
                ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: tool.name.clone(),
                        description: Some(tool.description.clone()),
                        parameters: Some(tool.parameters.clone()),
                        strict: None,
                    },
                })
            })
            .collect()
    });
    let mut body = CreateChatCompletionRequest {
        model: request.model.clone(),
        messages: request.messages.iter().map(message).collect(),
        stream: Some(true),
        stream_options: Some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        }),
        tools,
        ..Default::default()
    };
    match cap_field {
        TokenLimitField::MaxCompletionTokens => {
            body.max_completion_tokens = request.max_output_tokens;
        }
        // Deprecated by OpenAI, still the only one some servers read.
        #[allow(deprecated)]
        TokenLimitField::MaxTokens => body.max_tokens = request.max_output_tokens,
    }
    body
}

fn message(message: &ChatMessage) -> ChatCompletionRequestMessage {
    match message {
        ChatMessage::System { content } => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(content.clone()),
                name: None,
            })
        }
        ChatMessage::User { content } => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(content.clone()),
                name: None,
            })
        }
        ChatMessage::Assistant {
            content,
            tool_calls,
        } => {
            let calls = tool_calls
                .iter()
                .map(|call| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: call.id.clone(),
                        function: FunctionCall {
                            name: call.name.clone(),
                            arguments: call.arguments.clone(),
                        },
                    })
                })
                .collect();
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content: (!content.is_empty())
                    .then(|| ChatCompletionRequestAssistantMessageContent::Text(content.clone())),
                tool_calls: (!tool_calls.is_empty()).then_some(calls),
                ..Default::default()
            })
        }
        ChatMessage::Tool {
            tool_call_id,
            content,
        } => ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
            content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
            tool_call_id: tool_call_id.clone(),
        }),
    }
}

/// One streamed chunk (`data: {...}`).
#[derive(Debug, Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Some servers report a failure inside the stream.
    #[serde(default)]
    pub error: Option<ErrorDetail>,
}

/// One choice of a chunk; we ask for one (`n` = 1).
#[derive(Debug, Deserialize)]
pub(super) struct Choice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// New content of a chunk.
#[derive(Debug, Deserialize)]
pub(super) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallFragment>>,
}

/// A piece of a tool call; pieces with the same `index` form one call.
#[derive(Debug, Deserialize)]
pub(super) struct ToolCallFragment {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionFragment>,
}

/// Name (first piece) and a slice of the arguments JSON.
#[derive(Debug, Deserialize)]
pub(super) struct FunctionFragment {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// Token counts of the whole call.
#[derive(Debug, Deserialize)]
pub(super) struct Usage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub total_tokens: Option<u32>,
}

impl From<Usage> for TokenUsage {
    fn from(usage: Usage) -> Self {
        TokenUsage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage
                .total_tokens
                .unwrap_or(usage.prompt_tokens.saturating_add(usage.completion_tokens)),
        }
    }
}

/// `{"error": {"message", "type", "code"}}` (`code` may be a number).
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    pub error: ErrorDetail,
}

/// The provider's description of a failure.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorDetail {
    /// "message (type: x, code: y)".
    pub fn describe(&self) -> String {
        let mut text = self.message.clone().unwrap_or_else(|| "no message".into());
        let mut extras = Vec::new();
        if let Some(kind) = &self.kind {
            extras.push(format!("type: {kind}"));
        }
        match &self.code {
            Some(serde_json::Value::String(code)) => extras.push(format!("code: {code}")),
            Some(serde_json::Value::Number(code)) => extras.push(format!("code: {code}")),
            _ => {}
        }
        if !extras.is_empty() {
            text.push_str(&format!(" ({})", extras.join(", ")));
        }
        text
    }

    /// Whether the code says the account is out of credit: a 429 that no
    /// retry can fix.
    pub fn is_quota(&self) -> bool {
        self.code.as_ref().and_then(|c| c.as_str()) == Some("insufficient_quota")
    }
}

/// The message of an error response body, JSON or not, kept short.
pub(super) fn error_message(body: &[u8]) -> (String, bool) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => (parsed.error.describe(), parsed.error.is_quota()),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let short: String = text.chars().take(300).collect();
            (
                if short.is_empty() {
                    "empty response body".into()
                } else {
                    short
                },
                false,
            )
        }
    }
}

/// A provider's finish reason in domain terms.
pub(super) fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" => FinishReason::Stop,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "length" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}
