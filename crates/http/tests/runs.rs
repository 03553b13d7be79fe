//! Runs over HTTP on every store: replay equals the original stream,
//! reattach after an id, the run's row, cancel mid-stream, and 404 for
//! runs of another user or tenant on every route.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::memory::ScriptedChatModel;
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};
use support::api::{Reply, assert_error, call, req, user};

/// The body of a streaming response as text.
async fn body_text<B: MessageBody>(res: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8 body")
}

/// `(id, event)` of each data frame; checks `retry:` comes first.
fn frames(body: &str) -> Vec<(u64, Value)> {
    assert!(body.starts_with("retry: 1000\n\n"), "{body:?}");
    body.split("\n\n")
        .filter(|f| f.lines().any(|l| l.starts_with("data: ")))
        .map(|f| {
            let id = f
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.parse().ok())
                .expect("id line");
            let data = f
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data");
            (id, serde_json::from_str(data).expect("json event"))
        })
        .collect()
}

fn text_of(events: &[(u64, Value)]) -> String {
    events
        .iter()
        .filter(|(_, e)| e["type"] == "delta")
        .map(|(_, e)| e["chunk"].as_str().unwrap_or_default())
        .collect()
}

async fn stream<S, B>(app: &S, token: &str, message: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(
        app,
        req(
            "POST",
            "/api/v1/chat/stream",
            Some(token),
            Some(json!({"message": message})),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    body_text(res).await
}

async fn events<S, B>(
    app: &S,
    token: &str,
    uri: &str,
    last_id: Option<&str>,
) -> (StatusCode, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut r = test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")));
    if let Some(id) = last_id {
        r = r.insert_header(("Last-Event-ID", id));
    }
    let res = test::call_service(app, r.to_request()).await;
    (res.status(), body_text(res).await)
}

mod scenarios {
    use super::*;

    pub async fn a_replay_of_an_ended_run_equals_the_original_stream(stores: support::Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (token, _, _) = user(&app, "alice").await;
        let original = stream(&app, &token, "tell me about rust streams").await;
        let sent = frames(&original);
        let run_id = sent[0].1["run_id"]
            .as_str()
            .expect("run_id on every event")
            .to_owned();
        assert!(sent.iter().all(|(_, e)| e["run_id"] == run_id.as_str()));
        assert_eq!(
            sent.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            (1..=sent.len() as u64).collect::<Vec<_>>()
        );
        let uri = format!("/api/v1/chat/runs/{run_id}/events");
        let (status, replay) = events(&app, &token, &uri, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(replay, original, "event for event, byte for byte");

        // Reattach after event 2: the rest, once each, by header or query.
        let (_, tail) = events(&app, &token, &uri, Some("2")).await;
        let tail = frames(&tail);
        assert_eq!(tail.first().map(|(id, _)| *id), Some(3));
        assert_eq!(tail.len(), sent.len() - 2);
        let (_, by_query) = events(&app, &token, &format!("{uri}?after=2"), None).await;
        assert_eq!(frames(&by_query), tail);
        let joined = format!("{}{}", text_of(&sent[..2]), text_of(&tail));
        assert_eq!(joined, text_of(&sent));
        assert_eq!(
            tail.iter()
                .filter(|(_, e)| e["is_complete"] == true)
                .count(),
            1
        );
    }

    pub async fn the_run_reads_completed_and_the_conversation_has_no_active_run(
        stores: support::Stores,
    ) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (token, _, _) = user(&app, "alice").await;
        let chat = call(
            &app,
            req(
                "POST",
                "/api/v1/chat",
                Some(&token),
                Some(json!({"message": "hello there"})),
            ),
        )
        .await;
        assert_eq!(chat.status, StatusCode::OK, "{}", chat.body);
        let run_id = chat.body["run_id"].as_str().expect("run_id").to_owned();
        let conversation = chat.body["conversation_id"]
            .as_str()
            .expect("conversation")
            .to_owned();
        let run = call(
            &app,
            req(
                "GET",
                &format!("/api/v1/chat/runs/{run_id}"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.body);
        assert_eq!(run.body["status"], "completed");
        assert_eq!(run.body["conversation_id"], conversation.as_str());
        assert_eq!(run.body["agent_used"], "triage");
        assert_eq!(run.body["error"], Value::Null);
        assert!(run.body["finished_at"].is_string());
        let (_, replay) = events(
            &app,
            &token,
            &format!("/api/v1/chat/runs/{run_id}/events"),
            None,
        )
        .await;
        let replay = frames(&replay);
        assert_eq!(run.body["last_event_id"], replay.len() as u64);
        assert_eq!(
            replay.last().map(|(_, e)| e["type"].clone()),
            Some(json!("done"))
        );
        let detail = call(
            &app,
            req(
                "GET",
                &format!("/api/v1/conversations/{conversation}"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(detail.body["active_run"], Value::Null, "{}", detail.body);
        // Cancelling an ended run changes nothing.
        let cancel = call(
            &app,
            req(
                "POST",
                &format!("/api/v1/chat/runs/{run_id}/cancel"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(cancel.status, StatusCode::ACCEPTED);
        assert_eq!(
            cancel.body,
            json!({"run_id": run_id, "status": "completed"})
        );
    }

    pub async fn runs_of_another_user_or_tenant_are_404_on_every_route(stores: support::Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, _, _) = user(&app, "alice").await;
        let (bob, _, _) = user(&app, "bob").await;
        let chat = call(
            &app,
            req(
                "POST",
                "/api/v1/chat",
                Some(&alice),
                Some(json!({"message": "mine"})),
            ),
        )
        .await;
        let run_id = chat.body["run_id"].as_str().expect("run_id").to_owned();
        let team = call(
            &app,
            req(
                "POST",
                "/api/v1/tenants",
                Some(&alice),
                Some(json!({"name": "Team", "slug": "team-runs"})),
            ),
        )
        .await;
        assert_eq!(team.status, StatusCode::CREATED, "{}", team.body);
        let routes = [
            ("GET", format!("/api/v1/chat/runs/{run_id}")),
            ("GET", format!("/api/v1/chat/runs/{run_id}/events")),
            ("POST", format!("/api/v1/chat/runs/{run_id}/cancel")),
        ];
        for (method, uri) in &routes {
            let other_user = call(&app, req(method, uri, Some(&bob), None)).await;
            assert_error(&other_user, StatusCode::NOT_FOUND, "not_found");
            let mut r = match *method {
                "GET" => test::TestRequest::get(),
                _ => test::TestRequest::post(),
            }
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {alice}")))
            .insert_header(("X-Tenant-Id", "team-runs"));
            r = r.insert_header(("Accept", "application/json"));
            let other_tenant: Reply = call(&app, r.to_request()).await;
            assert_error(&other_tenant, StatusCode::NOT_FOUND, "not_found");
        }
        let unknown = format!("/api/v1/chat/runs/{}", uuid::Uuid::new_v4());
        assert_error(
            &call(&app, req("GET", &unknown, Some(&alice), None)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let bad = call(
            &app,
            req("GET", "/api/v1/chat/runs/not-a-uuid", Some(&alice), None),
        )
        .await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        // And the owner still sees it.
        let mine = call(&app, req("GET", &routes[0].1, Some(&alice), None)).await;
        assert_eq!(mine.status, StatusCode::OK);
    }

    pub async fn a_cancel_mid_stream_stores_a_prefix_and_ends_every_stream_cancelled(
        stores: support::Stores,
    ) {
        let model = Arc::new(ScriptedChatModel::echo().with_delay(Duration::from_millis(40)));
        let state = support::state_with_model(&stores, None, Some(model)).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, _, _) = user(&app, "alice").await;
        let message = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";
        let res = test::call_service(
            &app,
            req(
                "POST",
                "/api/v1/chat/stream",
                Some(&token),
                Some(json!({"message": message})),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let reading = actix_web::rt::spawn(body_text(res));
        // Wait for the run to show up as the conversation's active run.
        let (run_id, conversation) = loop {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            let list = call(
                &app,
                req("GET", "/api/v1/conversations", Some(&token), None),
            )
            .await;
            let Some(id) = list.body[0]["conversation_id"].as_str().map(str::to_owned) else {
                continue;
            };
            let detail = call(
                &app,
                req(
                    "GET",
                    &format!("/api/v1/conversations/{id}"),
                    Some(&token),
                    None,
                ),
            )
            .await;
            if let Some(run) = detail.body["active_run"]["run_id"].as_str() {
                assert_eq!(detail.body["active_run"]["status"], "running");
                break (run.to_owned(), id);
            }
        };
        // A second watcher attaches, then some deltas flow.
        let watcher_req = test::TestRequest::get()
            .uri(&format!("/api/v1/chat/runs/{run_id}/events"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request();
        let watcher = test::call_service(&app, watcher_req).await;
        let watching = actix_web::rt::spawn(body_text(watcher));
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        let cancel = call(
            &app,
            req(
                "POST",
                &format!("/api/v1/chat/runs/{run_id}/cancel"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(cancel.status, StatusCode::ACCEPTED, "{}", cancel.body);
        assert_eq!(cancel.body["status"], "cancelled", "{}", cancel.body);

        let original = frames(&reading.await.expect("stream"));
        let watched = frames(&watching.await.expect("watcher"));
        for seen in [&original, &watched] {
            let (_, last) = seen.last().expect("a terminal event");
            assert_eq!(last["type"], "error");
            assert_eq!(last["error"], "cancelled");
            assert_eq!(
                seen.iter()
                    .filter(|(_, e)| e["is_complete"] == true)
                    .count(),
                1
            );
        }
        assert_eq!(original, watched, "both watchers saw the same events");
        let partial = text_of(&original);
        let full = format!("Echo: {message}");
        assert!(
            !partial.is_empty() && partial.len() < full.len(),
            "{partial:?}"
        );
        assert!(
            full.starts_with(partial.as_str()),
            "a prefix of the answer: {partial:?}"
        );

        let run = call(
            &app,
            req(
                "GET",
                &format!("/api/v1/chat/runs/{run_id}"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(run.body["status"], "cancelled");
        assert_eq!(run.body["error"], "cancelled");
        let detail = call(
            &app,
            req(
                "GET",
                &format!("/api/v1/conversations/{conversation}"),
                Some(&token),
                None,
            ),
        )
        .await;
        assert_eq!(detail.body["active_run"], Value::Null);
        let messages = detail.body["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2, "{}", detail.body);
        assert_eq!(messages[1]["role"], "assistant");
        assert_eq!(
            messages[1]["content"],
            partial.as_str(),
            "the stored answer is what was streamed"
        );
    }
}

on_every_store!(
    a_replay_of_an_ended_run_equals_the_original_stream,
    the_run_reads_completed_and_the_conversation_has_no_active_run,
    runs_of_another_user_or_tenant_are_404_on_every_route,
    a_cancel_mid_stream_stores_a_prefix_and_ends_every_stream_cancelled,
);
