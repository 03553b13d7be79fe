//! The retry policy of outbound HTTP (the OpenAI-compatible model, Stripe):
//! which statuses are worth another attempt, exponential backoff with equal
//! jitter, and the provider's `Retry-After` (or OpenAI's `retry-after-ms`)
//! read one way. The OpenAI adapter retries only failures before any output
//! and does not wait for a `Retry-After` past its cap (the client would time
//! out first); Stripe caps the wait instead.

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The retry policy of the OpenAI adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// Base of the exponential backoff.
    pub initial_backoff: Duration,
    /// Longest backoff between attempts.
    pub max_backoff: Duration,
    /// Longest `Retry-After` we wait for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before retry number `retry` (0-based), or `None` to
    /// give up. `retry_after` is what the provider asked for, if anything.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        if let Some(asked) = retry_after {
            return (asked <= self.max_retry_after).then_some(asked);
        }
        Some(with_jitter(
            backoff(self.initial_backoff, retry).min(self.max_backoff),
        ))
    }
}

/// `initial` doubled `retry` times (0-based), saturating.
pub(crate) fn backoff(initial: Duration, retry: u32) -> Duration {
    initial.saturating_mul(2u32.saturating_pow(retry))
}

/// Equal jitter: at least half of `wait`, so retries still space out, and a
/// random rest so concurrent clients do not retry in step.
pub(crate) fn with_jitter(wait: Duration) -> Duration {
    let half = wait / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
}

/// Whether a status is worth another attempt.
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Longest wait a provider's header is read as; anything longer means the
/// same (far past any cap we wait for) and must not overflow a `Duration`.
const LONGEST_ASKED: Duration = Duration::from_secs(24 * 3600);

/// Seconds from a header as a wait, capped at [`LONGEST_ASKED`]; `None`
/// for negative, NaN or non-numeric values.
fn asked_wait(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).map_or(LONGEST_ASKED, |d| d.min(LONGEST_ASKED)))
}

/// The provider's requested wait: `retry-after-ms`, else `Retry-After` in
/// seconds (HTTP dates are rare from model providers and are ignored).
/// Huge, infinite, negative and NaN values never panic: huge ones are
/// capped, the others ignored.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .and_then(|v| v.parse::<f64>().ok())
    };
    read("retry-after-ms")
        .and_then(|ms| asked_wait(ms / 1000.0))
        .or_else(|| read(RETRY_AFTER.as_str()).and_then(asked_wait))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_after_max_retries() {
        let policy = RetryPolicy::default();
        for retry in 0..2 {
            let full = Duration::from_millis(500 * 2u64.pow(retry));
            let delay = policy.delay(retry, None).expect("retry allowed");
            assert!(delay >= full / 2 && delay <= full, "{delay:?}");
        }
        assert_eq!(policy.delay(2, None), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn retry_after_headers_are_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        headers.insert("retry-after-ms", HeaderValue::from_static("soon"));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn absurd_retry_after_values_are_capped_or_ignored_never_a_panic() {
        for (value, expected) in [
            ("1e20", Some(LONGEST_ASKED)),
            ("inf", Some(LONGEST_ASKED)),
            ("1e400", Some(LONGEST_ASKED)),
            ("NaN", None),
            ("-5", None),
            ("-inf", None),
            ("0", Some(Duration::ZERO)),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers), expected, "Retry-After: {value}");
            let mut headers = HeaderMap::new();
            headers.insert("retry-after-ms", HeaderValue::from_static(value));
            let expected_ms = expected.map(|d| if d == LONGEST_ASKED { d } else { d / 1000 });
            assert_eq!(
                retry_after(&headers),
                expected_ms,
                "retry-after-ms: {value}"
            );
        }
        assert_eq!(
            RetryPolicy::default().delay(
                0,
                retry_after(&{
                    let mut h = HeaderMap::new();
                    h.insert(RETRY_AFTER, HeaderValue::from_static("1e20"));
                    h
                })
            ),
            None,
            "a wait past the cap is not waited for"
        );
    }
}
