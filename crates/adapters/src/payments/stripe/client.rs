//! One Stripe request with our retry policy: form-encoded body, bearer key,
//! the same `Idempotency-Key` on every attempt of a POST, retries (the
//! shared policy of [`crate::retry`]) on 429, 5xx, timeouts and connection
//! failures, and Stripe's
//! error body mapped to [`GatewayError`].

use std::time::Duration;

use agents_domain::billing::GatewayError;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::StripeGateway;
use super::wire::ErrorBody;
use crate::retry::{backoff, retry_after, with_jitter};

/// Longest pause between attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why one attempt failed, and whether another may succeed.
enum Attempt {
    Retry(String, Option<Duration>),
    Fail(GatewayError),
}

/// Maps Stripe's error body: card errors are declines, invalid requests
/// rejections, everything else (authentication, API errors) unavailability.
fn map_error(status: StatusCode, body: &[u8]) -> GatewayError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    // Authentication messages quote part of the key: never keep them.
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return GatewayError::Unavailable(format!("Stripe refused the API key ({status})"));
    }
    let Some(error) = parsed.map(|b| b.error) else {
        return GatewayError::Unavailable(format!(
            "Stripe answered {status} without an error body"
        ));
    };
    let detail = || {
        let code = error.code.as_deref().unwrap_or("no_code");
        format!(
            "{code}: {}",
            error.message.as_deref().unwrap_or("no message")
        )
    };
    match error.kind.as_deref() {
        Some("card_error") => GatewayError::Declined(match &error.decline_code {
            Some(decline) => format!("{} ({decline})", detail()),
            None => detail(),
        }),
        Some("invalid_request_error" | "idempotency_error") => GatewayError::Rejected(detail()),
        Some("authentication_error") => {
            GatewayError::Unavailable("Stripe refused the API key".into())
        }
        _ => GatewayError::Unavailable(format!("Stripe error {status}: {}", detail())),
    }
}

impl StripeGateway {
    /// Sends a request and decodes a 2xx JSON answer into `T`, retrying
    /// transient failures up to `max_retries` times.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        let mut attempt = 0u32;
        loop {
            let (cause, hint) = match self.attempt(&method, path, form, idempotency_key).await {
                Ok(value) => return Ok(value),
                Err(Attempt::Fail(error)) => return Err(error),
                Err(Attempt::Retry(cause, hint)) => (cause, hint),
            };
            if attempt >= self.config.max_retries {
                return Err(GatewayError::Unavailable(format!(
                    "{cause} after {} attempts",
                    attempt + 1
                )));
            }
            // Stripe's own wait when it names one, else jittered backoff;
            // either way never longer than MAX_BACKOFF.
            let jittered = || with_jitter(backoff(self.config.backoff, attempt));
            let wait = hint.unwrap_or_else(jittered).min(MAX_BACKOFF);
            tracing::warn!(path, attempt = attempt + 1, %cause, ?wait, "retrying Stripe request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, Attempt> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut request = self
            .client
            .request(method.clone(), url)
            .bearer_auth(self.config.secret_key.expose())
            .timeout(self.config.timeout);
        if *method == Method::POST {
            request = request.form(form);
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Err(Attempt::Retry("Stripe timed out".into(), None));
            }
            // Without the URL: it is ours, and errors must stay short.
            Err(e) => {
                return Err(Attempt::Retry(
                    format!("Stripe unreachable: {}", e.without_url()),
                    None,
                ));
            }
        };
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => {
                return Err(Attempt::Retry("Stripe timed out".into(), None));
            }
            Err(e) => {
                return Err(Attempt::Retry(
                    format!("Stripe answer cut: {}", e.without_url()),
                    None,
                ));
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Attempt::Retry(format!("Stripe answered {status}"), wait));
        }
        if !status.is_success() {
            return Err(Attempt::Fail(map_error(status, &body)));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Attempt::Fail(GatewayError::Unavailable(format!(
                "unreadable Stripe answer: {e}"
            )))
        })
    }
}
