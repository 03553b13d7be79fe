//! Chat when something goes wrong: no model, provider errors, a failing stream, keep-alives, invalid input, a tenant over its rate.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::memory::{ScriptedChatModel, ScriptedTurn};
use agents_domain::llm::LlmError;
use agents_http::{HttpSettings, build_app};
use serde_json::json;
use support::api::{as_user, json_call, sse_events, token};

#[actix_web::test]
async fn without_a_model_chat_is_503_and_stores_nothing() {
    let stores = support::memory_stores();
    let app = test::init_service(build_app(
        support::state_with_model(&stores, None, None).await,
        HttpSettings::default(),
    ))
    .await;
    let alice = token(&app, "alice").await;
    let req = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
        .set_json(json!({"message": "hi"}))
        .to_request();
    let (status, body, _) = json_call(&app, req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "llm_unavailable");
    let stream = as_user(test::TestRequest::post().uri("/api/v1/chat/stream"), &alice)
        .set_json(json!({"message": "hi"}))
        .to_request();
    let (status, body, _) = json_call(&app, stream).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "errors before the stream are plain responses"
    );
    assert_eq!(body["error"], "llm_unavailable");
    let (_, list, _) = json_call(
        &app,
        as_user(
            test::TestRequest::get().uri("/api/v1/conversations"),
            &alice,
        )
        .to_request(),
    )
    .await;
    assert_eq!(list, json!([]));
}

#[actix_web::test]
async fn a_provider_error_is_502_and_the_user_message_is_kept() {
    let stores = support::memory_stores();
    let model = ScriptedChatModel::new([ScriptedTurn::fail(LlmError::Provider {
        status: Some(500),
        message: "upstream exploded".into(),
        retry_after: None,
    })]);
    let app = test::init_service(build_app(
        support::state_with_model(&stores, None, Some(Arc::new(model))).await,
        HttpSettings::default(),
    ))
    .await;
    let alice = token(&app, "alice").await;
    let req = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
        .set_json(json!({"message": "keep me", "conversation_id": "c1"}))
        .to_request();
    let (status, body, _) = json_call(&app, req).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["error"], "llm_error");
    assert!(
        !body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("exploded"),
        "provider internals are not echoed"
    );
    let (_, conv, _) = json_call(
        &app,
        as_user(
            test::TestRequest::get().uri("/api/v1/conversations/c1"),
            &alice,
        )
        .to_request(),
    )
    .await;
    assert_eq!(conv["messages"][0]["content"], "keep me");
}

#[actix_web::test]
async fn a_stream_error_ends_with_one_error_event() {
    let stores = support::memory_stores();
    let model = ScriptedChatModel::new([ScriptedTurn::fail(LlmError::Timeout)]);
    let app = test::init_service(build_app(
        support::state_with_model(&stores, None, Some(Arc::new(model))).await,
        HttpSettings::default(),
    ))
    .await;
    let alice = token(&app, "alice").await;
    let req = as_user(test::TestRequest::post().uri("/api/v1/chat/stream"), &alice)
        .set_json(json!({"message": "hi"}))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap_or_default();
    let events = sse_events(&body);
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["type"], "error");
    assert_eq!(events[0]["error"], "llm_timeout");
    assert_eq!(events[0]["is_complete"], true);
}

#[actix_web::test]
async fn keep_alive_comments_flow_while_the_model_is_silent() {
    let stores = support::memory_stores();
    let model = ScriptedChatModel::new([ScriptedTurn::text("slow answer")])
        .with_delay(Duration::from_millis(450));
    let app = test::init_service(build_app(
        support::state_with_model(&stores, None, Some(Arc::new(model))).await,
        HttpSettings::default(),
    ))
    .await;
    let alice = token(&app, "alice").await;
    let req = as_user(test::TestRequest::post().uri("/api/v1/chat/stream"), &alice)
        .set_json(json!({"message": "hi"}))
        .to_request();
    let res = test::call_service(&app, req).await;
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap_or_default();
    assert!(body.contains(": keep-alive\n\n"), "{body}");
    let events = sse_events(&body);
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("done")),
        "{body}"
    );
}

#[actix_web::test]
async fn invalid_chat_input_is_422() {
    let stores = support::memory_stores();
    let app = test::init_service(build_app(
        support::state_on(&stores, None).await,
        HttpSettings::default(),
    ))
    .await;
    let alice = token(&app, "alice").await;
    for body in [
        json!({"message": "   "}),
        json!({"message": "x".repeat(32_001)}),
        json!({"message": "hi", "conversation_id": "bad id"}),
        json!({"conversation_id": "x"}),
    ] {
        let req = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(body.clone())
            .to_request();
        let (status, reply, _) = json_call(&app, req).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {reply}"
        );
        assert_eq!(reply["error"], "validation_error");
    }
    let anonymous = test::TestRequest::post()
        .uri("/api/v1/chat")
        .set_json(json!({"message": "hi"}))
        .to_request();
    assert_eq!(
        test::call_service(&app, anonymous).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn a_tenant_over_its_chat_rate_is_429_and_nothing_is_stored() {
    let stores = support::memory_stores();
    let settings = agents_server::Settings {
        rate_limit_chat_per_minute: 2,
        ..support::settings()
    };
    let echo = Arc::new(agents_adapters::memory::ScriptedChatModel::echo());
    let state = support::app_with(&settings, &stores, Some(echo)).await;
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let alice = token(&app, "alice").await;
    let bob = token(&app, "bob").await;
    for i in 0..2 {
        let req = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(json!({"message": format!("turn {i}"), "conversation_id": "limited"}))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    }
    let req = as_user(test::TestRequest::post().uri("/api/v1/chat/stream"), &alice)
        .set_json(json!({"message": "one too many", "conversation_id": "limited"}))
        .to_request();
    let (status, body, headers) = json_call(&app, req).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(headers.contains_key("retry-after"));
    let (_, conv, _) = json_call(
        &app,
        as_user(
            test::TestRequest::get().uri("/api/v1/conversations/limited"),
            &alice,
        )
        .to_request(),
    )
    .await;
    assert_eq!(
        conv["messages"].as_array().map(Vec::len),
        Some(4),
        "the refused turn stored nothing"
    );
    let other = as_user(test::TestRequest::post().uri("/api/v1/chat"), &bob)
        .set_json(json!({"message": "hi"}))
        .to_request();
    assert_eq!(
        test::call_service(&app, other).await.status(),
        StatusCode::OK,
        "another tenant has its own budget"
    );
}
