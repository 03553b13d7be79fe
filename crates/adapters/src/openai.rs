//! [`OpenAiChatModel`]: the chat-model port over the Chat Completions API of
//! OpenAI or any compatible server (vLLM, Ollama, llama.cpp, gateways).
//!
//! The HTTP call is made with reqwest directly; async-openai supplies the
//! request types. Its client is not used because it retries 429/5xx on its
//! own (sleeping an uncapped `Retry-After`), drops the response headers we
//! need for `Retry-After`, and hides the SSE body behind a task of its own,
//! so neither our single retry policy nor our first-byte/between-chunk
//! timeout could be enforced through it.

mod sse;
mod stream;
mod wire;

use agents_domain::secret::Secret;
use std::time::Duration;

use agents_domain::llm::{ChatModel, LlmError, ModelRequest, ModelStream};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;

pub use crate::retry::RetryPolicy;

/// How to reach the provider.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// API base, e.g. `https://api.openai.com/v1` (`OPENAI_BASE_URL`);
    /// requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// Bearer key (`OPENAI_API_KEY`); empty sends no `Authorization`
    /// header, for local servers that need none.
    pub api_key: Secret,
    /// Longest wait for the response headers and for each next chunk
    /// (`LLM_TIMEOUT`); also bounds connecting.
    pub timeout: Duration,
    /// Retries of failures before any output.
    pub retry: RetryPolicy,
    /// The request field a call's output cap goes in (`OPENAI_MAX_TOKENS_FIELD`).
    pub token_limit_field: TokenLimitField,
}

/// Which request field carries a call's output-token cap (sent only when a
/// `tokens` budget applies). OpenAI reads `max_completion_tokens` and
/// refuses `max_tokens` for its reasoning models; some compatible servers
/// (older Ollama, llama.cpp) read only `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLimitField {
    /// `max_completion_tokens` (OpenAI's current field).
    #[default]
    MaxCompletionTokens,
    /// `max_tokens` (the deprecated field).
    MaxTokens,
}

impl OpenAiSettings {
    /// Settings for `base_url` and `api_key` with a 60 s timeout and the
    /// default retry policy.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<Secret>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            token_limit_field: TokenLimitField::default(),
        }
    }
}

/// The HTTP client could not be built (TLS backend initialisation).
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client: {0}")]
pub struct HttpClientError(String);

impl HttpClientError {
    pub(crate) fn new(message: String) -> Self {
        Self(message)
    }
}

/// A streaming chat model over an OpenAI-compatible Chat Completions API.
#[derive(Debug, Clone)]
pub struct OpenAiChatModel {
    http: reqwest::Client,
    url: String,
    settings: OpenAiSettings,
}

impl OpenAiChatModel {
    /// A model client for `settings`; the model name comes with each request.
    pub fn new(settings: OpenAiSettings) -> Result<Self, HttpClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| HttpClientError(e.to_string()))?;
        let url = format!(
            "{}/chat/completions",
            settings.base_url.trim_end_matches('/')
        );
        Ok(Self {
            http,
            url,
            settings,
        })
    }

    /// One attempt: the response when it is a 2xx, else the error and
    /// whether another attempt may help.
    async fn attempt(&self, body: &[u8]) -> Result<reqwest::Response, (LlmError, bool)> {
        let mut request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if !self.settings.api_key.is_empty() {
            request = request.bearer_auth(self.settings.api_key.expose());
        }
        let timeout = self.settings.timeout;
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return Err((LlmError::Timeout, false)),
            Ok(Err(error)) if error.is_connect() || error.is_request() => {
                let error =
                    LlmError::Unavailable(format!("cannot reach the model provider: {error}"));
                return Err((error, true));
            }
            Ok(Err(error)) if error.is_timeout() => return Err((LlmError::Timeout, false)),
            Ok(Err(error)) => {
                let error = LlmError::Provider {
                    status: None,
                    message: format!("the model provider failed: {error}"),
                    retry_after: None,
                };
                return Err((error, true));
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = crate::retry::retry_after(response.headers());
        let body = match tokio::time::timeout(timeout, response.bytes()).await {
            Ok(Ok(body)) => body.to_vec(),
            Ok(Err(_)) | Err(_) => Vec::new(),
        };
        let (message, quota) = wire::error_message(&body);
        let error = LlmError::Provider {
            status: Some(status.as_u16()),
            message,
            retry_after,
        };
        Err((error, crate::retry::retryable_status(status) && !quota))
    }
}

#[async_trait]
impl ChatModel for OpenAiChatModel {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, LlmError> {
        let body = serde_json::to_vec(&wire::request_body(
            &request,
            self.settings.token_limit_field,
        ))
        .map_err(|e| LlmError::Provider {
            status: None,
            message: format!("could not encode the request: {e}"),
            retry_after: None,
        })?;
        let mut retry = 0;
        loop {
            let (error, retryable) = match self.attempt(&body).await {
                Ok(response) => {
                    let mut events = stream::model_stream(response, self.settings.timeout);
                    // Nothing reached the caller before the first event: a
                    // body that breaks off before it is a failure before
                    // output, retried like a refused connection.
                    match events.next().await {
                        Some(Err(error @ LlmError::Provider { .. })) => (error, true),
                        first => {
                            return Ok(Box::pin(futures::stream::iter(first).chain(events)));
                        }
                    }
                }
                Err(failure) => failure,
            };
            let asked = match &error {
                LlmError::Provider { retry_after, .. } => *retry_after,
                _ => None,
            };
            let delay = retryable
                .then(|| self.settings.retry.delay(retry, asked))
                .flatten();
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::warn!(%error, retry = retry + 1, delay_ms = delay.as_millis() as u64, "retrying the model call");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}
