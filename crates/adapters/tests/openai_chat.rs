//! `OpenAiChatModel` against a local server speaking the Chat Completions
//! streaming wire format: request shape, awkward chunking, tool-call
//! fragments, usage, errors, retries and timeouts.

mod openai_stub;
mod stub_http;

use std::time::{Duration, Instant};

use agents_adapters::openai::{OpenAiChatModel, OpenAiSettings, TokenLimitField};
use agents_domain::llm::{ChatModel, FinishReason, LlmError, ModelEvent, ModelRequest, ToolCall};
use futures::StreamExt;
use openai_stub::{USAGE, chunk, collect, error_body, model, request, usage_chunk};
use serde_json::json;
use stub_http::{Part, Reply, StubServer, event, split};

#[tokio::test]
async fn text_split_at_awkward_byte_boundaries_streams_as_deltas_with_usage() {
    let mut body = event(&chunk(json!({"role": "assistant", "content": ""}), None));
    body.extend(event(&chunk(json!({"content": "Hel"}), None)));
    body.extend(b": keep-alive\n\n");
    body.extend(event(&chunk(json!({"content": "lo, w\u{f6}rld"}), None)));
    body.extend(event(&chunk(json!({}), Some("stop"))));
    body.extend(usage_chunk());
    body.extend(b"data: [DONE]\n\n");
    let o_umlaut = body
        .windows(2)
        .position(|w| w == "\u{f6}".as_bytes())
        .expect("present")
        + 1;
    let server = StubServer::start(vec![Reply::sse(split(
        &body,
        &[3, 40, 97, o_umlaut, body.len() - 3],
    ))])
    .await;

    let events = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect("stream starts");
    let events: Vec<_> = events.into_iter().map(|e| e.expect("no error")).collect();
    assert_eq!(
        events,
        [
            ModelEvent::TextDelta("Hel".into()),
            ModelEvent::TextDelta("lo, w\u{f6}rld".into()),
            ModelEvent::Usage(USAGE),
            ModelEvent::Finished(FinishReason::Stop),
        ]
    );

    let sent = &server.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(body["messages"][2]["tool_calls"][0]["type"], "function");
    assert_eq!(
        body["messages"][2]["tool_calls"][0]["function"]["name"],
        "get_current_time"
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "c1", "content": "noon"})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_current_time");
    assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
    assert!(
        body.get("max_completion_tokens").is_none() && body.get("max_tokens").is_none(),
        "no cap without a budget: {body}"
    );
}

#[tokio::test]
async fn a_token_budget_is_sent_in_the_configured_field() {
    let answer = || {
        let mut body = event(&chunk(json!({"content": "ok"}), Some("length")));
        body.extend(usage_chunk());
        body.extend(b"data: [DONE]\n\n");
        Reply::sse(vec![Part::Bytes(body)])
    };
    let server = StubServer::start(vec![answer(), answer()]).await;
    let capped = ModelRequest {
        max_output_tokens: Some(100),
        ..request()
    };
    for field in [
        TokenLimitField::MaxCompletionTokens,
        TokenLimitField::MaxTokens,
    ] {
        let mut settings = OpenAiSettings::new(format!("{}/v1", server.url), "sk-test");
        settings.token_limit_field = field;
        let model = OpenAiChatModel::new(settings).expect("client builds");
        let events: Vec<_> = model
            .stream(capped.clone())
            .await
            .expect("stream starts")
            .collect()
            .await;
        assert!(events.contains(&Ok(ModelEvent::Finished(FinishReason::Length))));
    }
    let bodies: Vec<_> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies[0]["max_completion_tokens"], 100);
    assert!(bodies[0].get("max_tokens").is_none(), "{}", bodies[0]);
    assert_eq!(bodies[1]["max_tokens"], 100);
    assert!(
        bodies[1].get("max_completion_tokens").is_none(),
        "{}",
        bodies[1]
    );
}

#[tokio::test]
async fn parallel_tool_calls_are_assembled_from_fragments() {
    let fragments = [
        json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_current_time", "arguments": ""}}]}),
        json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "tavily_search", "arguments": "{\"qu"}}]}),
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        json!({"tool_calls": [{"index": 1, "function": {"arguments": "ery\": \"rust\"}"}}]}),
    ];
    let mut body: Vec<u8> = fragments
        .iter()
        .flat_map(|f| event(&chunk(f.clone(), None)))
        .collect();
    body.extend(event(&chunk(json!({}), Some("tool_calls"))));
    body.extend(usage_chunk());
    body.extend(b"data: [DONE]\n\n");
    let server = StubServer::start(vec![Reply::sse(split(&body, &[150, 151, 300]))]).await;

    let events: Vec<_> = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect("stream starts")
        .into_iter()
        .map(|e| e.expect("no error"))
        .collect();
    assert_eq!(
        events,
        [
            ModelEvent::ToolCall(ToolCall {
                id: "call_a".into(),
                name: "get_current_time".into(),
                arguments: "{}".into()
            }),
            ModelEvent::ToolCall(ToolCall {
                id: "call_b".into(),
                name: "tavily_search".into(),
                arguments: "{\"query\": \"rust\"}".into()
            }),
            ModelEvent::Usage(USAGE),
            ModelEvent::Finished(FinishReason::ToolCalls),
        ]
    );
}

#[tokio::test]
async fn client_errors_are_reported_at_once_without_retry() {
    for status in [400, 401] {
        let body = error_body("Bad things", "invalid_request_error", "bad");
        let server = StubServer::start(vec![Reply::json(status, &body, &[])]).await;
        let error = collect(&model(&server, Duration::from_secs(5)))
            .await
            .expect_err("refused");
        assert_eq!(
            error,
            LlmError::Provider {
                status: Some(status),
                message: "Bad things (type: invalid_request_error, code: bad)".into(),
                retry_after: None
            }
        );
        assert_eq!(server.requests().len(), 1, "status {status} is not retried");
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let replies = (0..3)
        .map(|_| Reply::json(500, &error_body("oops", "server_error", "x"), &[]))
        .collect();
    let server = StubServer::start(replies).await;
    let error = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect_err("refused");
    assert!(matches!(
        error,
        LlmError::Provider {
            status: Some(500),
            ..
        }
    ));
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_then_succeeds() {
    let rate_limited = Reply::json(
        429,
        &error_body("slow down", "rate_limit_error", "rate_limit"),
        &[("retry-after", "1")],
    );
    let mut ok = event(&chunk(json!({"content": "ok"}), Some("stop")));
    ok.extend(b"data: [DONE]\n\n");
    let server = StubServer::start(vec![rate_limited, Reply::sse(vec![Part::Bytes(ok)])]).await;
    let started = Instant::now();
    let events = collect(&model(&server, Duration::from_secs(5)))
        .await
        .expect("retried");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(events[0], Ok(ModelEvent::TextDelta("ok".into())));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_exhausted_quota_or_a_long_retry_after_is_not_retried() {
    let quota = Reply::json(
        429,
        &error_body("no credit", "insufficient_quota", "insufficient_quota"),
        &[],
    );
    let long_wait = Reply::json(
        429,
        &error_body("later", "rate_limit_error", "rate_limit"),
        &[("retry-after", "60")],
    );
    for reply in [quota, long_wait] {
        let server = StubServer::start(vec![reply]).await;
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
    }
}

#[tokio::test]
async fn a_stalled_stream_times_out_after_the_output_so_far() {
    let mut parts = vec![Part::Bytes(event(&chunk(json!({"content": "Hel"}), None)))];
    parts.push(Part::Pause(Duration::from_secs(3)));
    let server = StubServer::start(vec![Reply::sse(parts)]).await;
    let started = Instant::now();
    let events = collect(&model(&server, Duration::from_millis(300)))
        .await
        .expect("stream starts");
    assert_eq!(
        events,
        [
            Ok(ModelEvent::TextDelta("Hel".into())),
            Err(LlmError::Timeout)
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        server.requests().len(),
        1,
        "nothing is retried once output started"
    );
}

#[tokio::test]
async fn no_first_byte_within_the_timeout_is_a_timeout() {
    let server = StubServer::start(vec![Reply::silent(Duration::from_secs(3))]).await;
    let error = collect(&model(&server, Duration::from_millis(300)))
        .await
        .expect_err("timed out");
    assert_eq!(error, LlmError::Timeout);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_cut_stream_and_an_error_event_after_output_fail_the_stream() {
    let cut = Reply::sse(vec![Part::Bytes(event(&chunk(
        json!({"content": "par"}),
        None,
    )))]);
    let error_event = json!({"error": {"message": "overloaded", "type": "server_error"}});
    let mut after_text = event(&chunk(json!({"content": "so"}), None));
    after_text.extend(event(&error_event));
    let in_stream = Reply::sse(vec![Part::Bytes(after_text)]);
    let server = StubServer::start(vec![cut, in_stream]).await;
    let model = model(&server, Duration::from_secs(5));
    let events = collect(&model).await.expect("stream starts");
    assert_eq!(events[0], Ok(ModelEvent::TextDelta("par".into())));
    assert!(
        matches!(&events[1], Err(LlmError::Provider { message, .. }) if message.contains("ended before"))
    );
    let events = collect(&model).await.expect("stream starts");
    assert_eq!(events[0], Ok(ModelEvent::TextDelta("so".into())));
    assert!(
        matches!(&events[1], Err(LlmError::Provider { message, .. }) if message.starts_with("overloaded"))
    );
    assert_eq!(server.requests().len(), 2, "nothing retried after output");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let mut settings = OpenAiSettings::new(format!("http://{address}/v1"), "");
    settings.retry.initial_backoff = Duration::from_millis(5);
    let model = OpenAiChatModel::new(settings).expect("client builds");
    let error = model.stream(request()).await.err().expect("unreachable");
    assert!(matches!(error, LlmError::Unavailable(_)), "{error:?}");
    assert!(format!("{model:?}").contains("OpenAiSettings"));
}
