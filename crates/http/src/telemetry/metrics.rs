//! Metric names and the functions that record them. Every label value comes
//! from a bounded set, never from the request itself, so no request can add
//! a series: `method` (known methods, `OTHER` for the rest), `route` (the
//! matched template or `<unmatched>`), `status` (codes the server answers),
//! `agent` (resolved through the catalog, unknown names fall back to
//! `triage`), `model` (from configuration), `tool` (registered tools only;
//! the runtime refuses unknown names before any call), and fixed words
//! (`outcome`, `kind`, `error`, `scope`, `state`).

use std::time::Duration;

use ::metrics::{counter, gauge, histogram};

/// The names of every metric this service exposes, for dashboards and tests.
pub mod names {
    /// Counter `{method, route, status}`: HTTP requests answered.
    pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
    /// Histogram `{method, route, status}`: seconds until the response head.
    pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
    /// Gauge: SSE chat streams open now.
    pub const SSE_ACTIVE_STREAMS: &str = "sse_active_streams";
    /// Counter `{agent, model, outcome}`: chat runs that called the model
    /// (`outcome` = `ok` or `error`).
    pub const LLM_CALLS_TOTAL: &str = "llm_calls_total";
    /// Histogram `{agent, model}`: seconds a model run took, first call to last token.
    pub const LLM_CALL_DURATION_SECONDS: &str = "llm_call_duration_seconds";
    /// Counter `{agent, model, kind}`: tokens used (`kind` = `prompt` or `completion`).
    pub const LLM_TOKENS_TOTAL: &str = "llm_tokens_total";
    /// Counter `{agent, model, error}`: failed model runs by stable error name.
    pub const LLM_ERRORS_TOTAL: &str = "llm_errors_total";
    /// Histogram `{agent, model}`: seconds from accepting a turn to its first text delta.
    pub const LLM_TIME_TO_FIRST_TOKEN_SECONDS: &str = "llm_time_to_first_token_seconds";
    /// Counter `{tool, outcome}`: tool calls (`outcome` = `ok`, `error` or `cancelled`).
    pub const TOOL_CALLS_TOTAL: &str = agents_application::tools::TOOL_CALLS_TOTAL;
    /// Gauge `{state}`: database pool connections (`state` = `in_use` or `idle`).
    pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
    /// Counter `{class}`: database failures (`class` = `unavailable`:
    /// unreachable, cut, timed out, busy, or a transaction that kept
    /// conflicting; `retried`: a transaction that lost a race and ran
    /// again; `internal`: anything else). Counted by the SQL adapter.
    pub const DB_ERRORS_TOTAL: &str = "db_errors_total";
    /// Counter `{scope}`: requests refused with 429 (`scope` = `client` or `chat`).
    pub const RATE_LIMITED_TOTAL: &str = "rate_limited_total";
    /// Counter: limiter calls that failed (the request was let through).
    pub const RATE_LIMITER_ERRORS_TOTAL: &str = "rate_limiter_errors_total";
}

use names::*;

/// Writes the HELP lines once per recorder; harmless to call again.
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "HTTP latency to the response head"
    );
    describe_gauge!(SSE_ACTIVE_STREAMS, "Chat event streams open now");
    describe_counter!(LLM_CALLS_TOTAL, "Model runs by agent, model and outcome");
    describe_histogram!(
        LLM_CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Model run duration"
    );
    describe_counter!(LLM_TOKENS_TOTAL, "Tokens used by agent, model and kind");
    describe_counter!(
        LLM_ERRORS_TOTAL,
        "Failed model runs by agent, model and error"
    );
    describe_histogram!(
        LLM_TIME_TO_FIRST_TOKEN_SECONDS,
        Unit::Seconds,
        "Time to the first text delta"
    );
    describe_counter!(TOOL_CALLS_TOTAL, "Tool calls by tool and outcome");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections by state");
    describe_counter!(
        DB_ERRORS_TOTAL,
        "Database failures by class (unavailable, retried, internal)"
    );
    describe_counter!(RATE_LIMITED_TOTAL, "Requests refused by a rate limit");
    describe_counter!(
        RATE_LIMITER_ERRORS_TOTAL,
        "Rate-limiter failures (requests let through)"
    );
}

/// The `method` label: the methods of HTTP's registry that a client of
/// this API may send, `OTHER` for anything else, so a request with an
/// invented method cannot add a series.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

/// One answered HTTP request. `route` must be the matched template
/// (`/api/v1/agents/{name}/status`, or `<unmatched>`), never the raw path;
/// `method` is bounded by [`method_label`] here.
pub fn record_http_request(method: &str, route: &str, status: u16, latency: Duration) {
    let labels = [
        ("method", method_label(method).to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(latency.as_secs_f64());
}

/// One finished model run of `agent` on `model`.
pub fn record_llm_call(agent: &str, model: &str, ok: bool, duration: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    counter!(LLM_CALLS_TOTAL, "agent" => agent.to_owned(), "model" => model.to_owned(), "outcome" => outcome)
        .increment(1);
    histogram!(LLM_CALL_DURATION_SECONDS, "agent" => agent.to_owned(), "model" => model.to_owned())
        .record(duration.as_secs_f64());
}

/// Tokens a run used.
pub fn record_llm_tokens(agent: &str, model: &str, prompt: u64, completion: u64) {
    for (kind, value) in [("prompt", prompt), ("completion", completion)] {
        counter!(LLM_TOKENS_TOTAL, "agent" => agent.to_owned(), "model" => model.to_owned(), "kind" => kind)
            .increment(value);
    }
}

/// A failed run; `error` is the stable API error name (`llm_error`, `llm_timeout`, ...).
pub fn record_llm_error(agent: &str, model: &str, error: &'static str) {
    counter!(LLM_ERRORS_TOTAL, "agent" => agent.to_owned(), "model" => model.to_owned(), "error" => error)
        .increment(1);
}

/// Time from accepting a turn to its first text delta.
pub fn record_time_to_first_token(agent: &str, model: &str, elapsed: Duration) {
    histogram!(LLM_TIME_TO_FIRST_TOKEN_SECONDS, "agent" => agent.to_owned(), "model" => model.to_owned())
        .record(elapsed.as_secs_f64());
}

/// The database pool's connections now.
pub fn set_db_pool(in_use: u64, idle: u64) {
    gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
}

/// A request refused by a rate limit (`scope` = `client` or `chat`).
pub fn record_rate_limited(scope: &'static str) {
    counter!(RATE_LIMITED_TOTAL, "scope" => scope).increment(1);
}

/// A limiter call that failed.
pub fn record_rate_limiter_error() {
    counter!(RATE_LIMITER_ERRORS_TOTAL).increment(1);
}

/// Counts one open SSE stream while alive: hold it in the stream's state so
/// the gauge goes down however the stream ends (done, error, disconnect).
#[derive(Debug)]
#[must_use = "the stream counts as open only while the guard lives"]
pub struct ActiveStream(());

impl ActiveStream {
    /// Counts a stream as open.
    pub fn open() -> Self {
        gauge!(SSE_ACTIVE_STREAMS).increment(1.0);
        Self(())
    }
}

impl Drop for ActiveStream {
    fn drop(&mut self) {
        gauge!(SSE_ACTIVE_STREAMS).decrement(1.0);
    }
}
