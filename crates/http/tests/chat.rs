//! Chat, streaming, history and agent status over HTTP, on every store.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::memory::{ScriptedChatModel, ScriptedTurn};
use agents_domain::llm::LlmError;
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

async fn json_call<S, B>(
    app: &S,
    req: Request,
) -> (StatusCode, Value, actix_web::http::header::HeaderMap)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

async fn token<S, B>(app: &S, username: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let register = test::TestRequest::post()
        .uri("/api/v1/auth/register")
        .set_json(json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"}))
        .to_request();
    assert_eq!(
        test::call_service(app, register).await.status(),
        StatusCode::CREATED
    );
    let login = test::TestRequest::post()
        .uri("/api/v1/auth/token")
        .set_json(json!({"username": username, "password": "correct horse"}))
        .to_request();
    let (_, body, _) = json_call(app, login).await;
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

fn as_user(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {token}")))
}

/// Parses an SSE body into its `data:` JSON events, checking `id:` lines.
fn sse_events(body: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for frame in body.split("\n\n").filter(|f| !f.trim().is_empty()) {
        if frame.starts_with(':') || frame.starts_with("retry:") {
            continue;
        }
        let id = frame
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap_or_default()
            .to_owned();
        let data = frame
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_default();
        let event: Value =
            serde_json::from_str(data).unwrap_or_else(|e| panic!("bad event {data:?}: {e}"));
        assert_eq!(
            event["event_id"].to_string(),
            id,
            "id line matches event_id"
        );
        events.push(event);
    }
    events
}

mod scenarios {
    use super::*;
    use support::Stores;

    pub async fn chat_continue_list_search_get_delete(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let alice = token(&app, "alice").await;
        let first = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(json!({"message": "hello there", "conversation_id": "Trip:Plan_1"}))
            .to_request();
        let (status, body, _) = json_call(&app, first).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["conversation_id"], "Trip:Plan_1");
        assert_eq!(body["agent_used"], "triage");
        assert_eq!(body["handoff_occurred"], false);
        assert!(
            body["response"]
                .as_str()
                .unwrap_or_default()
                .contains("hello there")
        );
        assert!(
            body["metadata"]["usage"]["total_tokens"]
                .as_u64()
                .unwrap_or(0)
                > 0
        );
        assert!(body["metadata"]["tools_available"].as_array().is_some());

        let second = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(json!({"message": "and again", "conversation_id": "Trip:Plan_1"}))
            .to_request();
        let (_, body, _) = json_call(&app, second).await;
        assert!(
            body["response"]
                .as_str()
                .unwrap_or_default()
                .contains("after 2 earlier messages"),
            "{body}"
        );

        let uuid_id = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        let third = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(json!({"message": "uuid chat", "conversation_id": uuid_id}))
            .to_request();
        let (_, body, _) = json_call(&app, third).await;
        assert_eq!(body["conversation_id"], uuid_id.to_lowercase());

        let (status, list, headers) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations?page=1&limit=1"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers.get("x-total-count").and_then(|v| v.to_str().ok()),
            Some("2")
        );
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!(
            list[0]["conversation_id"],
            uuid_id.to_lowercase(),
            "newest first"
        );

        let (status, _, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations?limit=0"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations?page=abc"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let (status, hits, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations/search?q=AGAIN"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{hits}");
        assert_eq!(hits[0]["conversation_id"], "Trip:Plan_1");

        let (status, conv, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations/Trip:Plan_1"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{conv}");
        let roles: Vec<&str> = conv["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["role"].as_str())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
        assert_eq!(conv["messages"][0]["content"], "hello there");
        assert_eq!(conv["agent_context"]["entrypoint"], "triage");

        let (status, agent, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/agents/triage/status"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{agent}");
        assert_eq!(agent["total_conversations"], 2);
        assert!(agent["last_used"].is_string());
        let (status, _, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/agents/ghost/status"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let delete = as_user(
            test::TestRequest::delete().uri("/api/v1/conversations/Trip:Plan_1"),
            &alice,
        )
        .to_request();
        assert_eq!(
            test::call_service(&app, delete).await.status(),
            StatusCode::NO_CONTENT
        );
        let again = as_user(
            test::TestRequest::delete().uri("/api/v1/conversations/Trip:Plan_1"),
            &alice,
        )
        .to_request();
        assert_eq!(
            test::call_service(&app, again).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    pub async fn another_tenant_sees_nothing_and_changes_nothing(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let alice = token(&app, "alice").await;
        let mallory = token(&app, "mallory").await;
        let chat = as_user(test::TestRequest::post().uri("/api/v1/chat"), &alice)
            .set_json(json!({"message": "secret plans", "conversation_id": "shared-name"}))
            .to_request();
        assert_eq!(
            test::call_service(&app, chat).await.status(),
            StatusCode::OK
        );

        for uri in ["/api/v1/conversations/shared-name"] {
            let (status, _, _) = json_call(
                &app,
                as_user(test::TestRequest::get().uri(uri), &mallory).to_request(),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (_, list, headers) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations"),
                &mallory,
            )
            .to_request(),
        )
        .await;
        assert_eq!(list, json!([]));
        assert_eq!(
            headers.get("x-total-count").and_then(|v| v.to_str().ok()),
            Some("0")
        );
        let (_, hits, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations/search?q=secret"),
                &mallory,
            )
            .to_request(),
        )
        .await;
        assert_eq!(hits, json!([]));
        let delete = as_user(
            test::TestRequest::delete().uri("/api/v1/conversations/shared-name"),
            &mallory,
        )
        .to_request();
        assert_eq!(
            test::call_service(&app, delete).await.status(),
            StatusCode::NOT_FOUND
        );
        // The same id in mallory's tenant is simply a new conversation of hers.
        let own = as_user(test::TestRequest::post().uri("/api/v1/chat"), &mallory)
            .set_json(json!({"message": "mine", "conversation_id": "shared-name"}))
            .to_request();
        let (status, body, _) = json_call(&app, own).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Asking for alice's tenant explicitly is forbidden.
        let me = as_user(test::TestRequest::get().uri("/api/v1/auth/me"), &alice).to_request();
        let (_, me, _) = json_call(&app, me).await;
        let alice_tenant = me["data"]["tenants"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let cross = as_user(
            test::TestRequest::get().uri("/api/v1/conversations"),
            &mallory,
        )
        .insert_header(("X-Tenant-Id", alice_tenant))
        .to_request();
        assert_eq!(
            test::call_service(&app, cross).await.status(),
            StatusCode::FORBIDDEN
        );
        let (_, conv, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri("/api/v1/conversations/shared-name"),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(
            conv["messages"].as_array().map(Vec::len),
            Some(2),
            "alice's conversation is untouched"
        );
    }

    pub async fn stream_sends_typed_events_and_one_terminal_event(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let alice = token(&app, "alice").await;
        let req = as_user(test::TestRequest::post().uri("/api/v1/chat/stream"), &alice)
            .set_json(json!({"message": "/call transfer_to_code_assistant {}"}))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap_or_default();
        let events = sse_events(&body);
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(kinds.last(), Some(&"done"), "{kinds:?}");
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == "done" || **k == "error")
                .count(),
            1
        );
        assert!(kinds.contains(&"handoff"), "{kinds:?}");
        assert!(kinds.contains(&"delta"), "{kinds:?}");
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event["event_id"], i as u64 + 1);
            for field in ["chunk", "conversation_id", "is_complete", "agent_used"] {
                assert!(event.get(field).is_some(), "{field} missing in {event}");
            }
        }
        let handoff = events
            .iter()
            .find(|e| e["type"] == "handoff")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (handoff["from"].as_str(), handoff["to"].as_str()),
            (Some("triage"), Some("code_assistant"))
        );
        let done = events.last().cloned().unwrap_or_default();
        assert_eq!(done["is_complete"], true);
        assert_eq!(done["agent_used"], "code_assistant");
        assert!(done["usage"]["total_tokens"].as_u64().is_some());
        let text: String = events
            .iter()
            .filter(|e| e["type"] == "delta")
            .filter_map(|e| e["chunk"].as_str())
            .collect();
        let id = done["conversation_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (_, conv, _) = json_call(
            &app,
            as_user(
                test::TestRequest::get().uri(&format!("/api/v1/conversations/{id}")),
                &alice,
            )
            .to_request(),
        )
        .await;
        assert_eq!(
            conv["messages"][1]["content"], text,
            "stored answer equals streamed text"
        );
        assert_eq!(conv["agent_context"]["active_agent"], "code_assistant");
        assert_eq!(conv["agent_context"]["handoff_count"], 1);
    }
}

on_every_store!(
    chat_continue_list_search_get_delete,
    another_tenant_sees_nothing_and_changes_nothing,
    stream_sends_typed_events_and_one_terminal_event,
);

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
    use agents_adapters::limiter::InMemoryRateLimiter;
    use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
    let stores = support::memory_stores();
    let settings = HttpSettings {
        rate_limits: RateLimitPolicy::new(
            Arc::new(InMemoryRateLimiter::new()),
            RateLimits {
                anon_per_minute: 0,
                chat_per_minute: 2,
            },
        ),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(support::state_on(&stores, None).await, settings)).await;
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
