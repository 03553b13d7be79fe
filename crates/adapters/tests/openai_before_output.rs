//! `OpenAiChatModel` failures before any output reached the caller are
//! retried like a refused connection (a body that breaks off before its
//! first event, an error event first); a provider's `Retry-After` never
//! panics nor stalls, whatever its value.

mod openai_stub;
mod stub_http;

use std::time::{Duration, Instant};

use agents_domain::llm::{FinishReason, LlmError, ModelEvent};
use openai_stub::{chunk, collect, error_body, model};
use serde_json::json;
use stub_http::{Part, Reply, StubServer, event};

#[tokio::test]
async fn a_connection_dropped_before_the_first_chunk_is_retried() {
    // 200 and the SSE head, then the connection closes without a chunk;
    // then a role-only chunk and a cut: still nothing the caller saw.
    let dropped = Reply::sse(vec![]);
    let role_then_cut = Reply::sse(vec![Part::Bytes(event(&chunk(
        json!({"role": "assistant", "content": ""}),
        None,
    )))]);
    let mut ok = event(&chunk(json!({"content": "ok"}), Some("stop")));
    ok.extend(b"data: [DONE]\n\n");
    let server = StubServer::start(vec![
        dropped,
        role_then_cut,
        Reply::sse(vec![Part::Bytes(ok)]),
    ])
    .await;
    let events = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect("the third attempt answers");
    assert_eq!(
        events,
        [
            Ok(ModelEvent::TextDelta("ok".into())),
            Ok(ModelEvent::Finished(FinishReason::Stop))
        ]
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn an_error_event_before_any_output_is_retried_then_reported() {
    let error_event = json!({"error": {"message": "overloaded", "type": "server_error"}});
    let replies = (0..3)
        .map(|_| Reply::sse(vec![Part::Bytes(event(&error_event))]))
        .collect();
    let server = StubServer::start(replies).await;
    let error = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect_err("every attempt failed before output");
    assert!(
        matches!(&error, LlmError::Provider { message, .. } if message.starts_with("overloaded")),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn absurd_retry_after_headers_neither_panic_nor_stall() {
    // 1e20 s would overflow a Duration: capped, past our cap, so not waited for.
    let huge = Reply::json(
        429,
        &error_body("later", "rate_limit_error", "rate_limit"),
        &[("retry-after", "1e20")],
    );
    let server = StubServer::start(vec![huge]).await;
    let started = Instant::now();
    let error = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect_err("refused");
    assert!(matches!(
        error,
        LlmError::Provider {
            status: Some(429),
            ..
        }
    ));
    assert_eq!(server.requests().len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered promptly"
    );

    // NaN and negative waits are ignored: our own backoff applies.
    for value in ["NaN", "-3", "inf"] {
        let asked = Reply::json(
            503,
            &error_body("busy", "server_error", "overloaded"),
            &[("retry-after", value), ("retry-after-ms", value)],
        );
        let mut ok = event(&chunk(json!({"content": "ok"}), Some("stop")));
        ok.extend(b"data: [DONE]\n\n");
        let server = StubServer::start(vec![asked, Reply::sse(vec![Part::Bytes(ok)])]).await;
        let outcome = collect(&model(&server, Duration::from_secs(5))).await;
        if value == "inf" {
            assert!(outcome.is_err(), "an infinite wait is past the cap");
            assert_eq!(server.requests().len(), 1);
        } else {
            let events = outcome.expect("retried after our backoff");
            assert_eq!(events[0], Ok(ModelEvent::TextDelta("ok".into())));
            assert_eq!(server.requests().len(), 2, "Retry-After: {value}");
        }
    }
}
