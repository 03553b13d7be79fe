//! Chat, streaming, history and agent status over HTTP, on every store.

#[macro_use]
mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_http::{HttpSettings, build_app};
use serde_json::json;
use support::api::{as_user, json_call, sse_events, token};

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
