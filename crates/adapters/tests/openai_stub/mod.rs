//! What the OpenAI adapter tests share: a model pointed at the stub with a
//! fast retry policy, a request, and chunks in the Chat Completions format.
#![allow(dead_code)]

use std::time::Duration;

use agents_adapters::openai::{OpenAiChatModel, OpenAiSettings, RetryPolicy};
use agents_domain::llm::{
    ChatMessage, ChatModel, LlmError, ModelEvent, ModelRequest, TokenUsage, ToolCall, ToolSpec,
};
use futures::StreamExt;
use serde_json::json;

use super::stub_http::{StubServer, event};

pub fn model(server: &StubServer, timeout: Duration) -> OpenAiChatModel {
    let mut settings = OpenAiSettings::new(format!("{}/v1/", server.url), "sk-test");
    settings.timeout = timeout;
    settings.retry = RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(2),
    };
    OpenAiChatModel::new(settings).expect("client builds")
}

pub fn request() -> ModelRequest {
    ModelRequest {
        model: "gpt-test".into(),
        messages: vec![
            ChatMessage::System {
                content: "Be brief.".into(),
            },
            ChatMessage::User {
                content: "hi".into(),
            },
            ChatMessage::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "get_current_time".into(),
                    arguments: "{}".into(),
                }],
            },
            ChatMessage::Tool {
                tool_call_id: "c1".into(),
                content: "noon".into(),
            },
        ],
        tools: vec![ToolSpec {
            name: "get_current_time".into(),
            description: "Current time".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }],
        max_output_tokens: None,
    }
}

pub fn chunk(delta: serde_json::Value, finish: Option<&str>) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    })
}

pub fn usage_chunk() -> Vec<u8> {
    event(&json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    }))
}

pub const USAGE: TokenUsage = TokenUsage {
    prompt_tokens: 12,
    completion_tokens: 3,
    total_tokens: 15,
};

pub async fn collect(
    model: &OpenAiChatModel,
) -> Result<Vec<Result<ModelEvent, LlmError>>, LlmError> {
    Ok(model.stream(request()).await?.collect().await)
}

pub fn error_body(message: &str, kind: &str, code: &str) -> String {
    json!({"error": {"message": message, "type": kind, "code": code}}).to_string()
}
