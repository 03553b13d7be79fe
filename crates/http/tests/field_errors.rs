//! Validation errors name the field (API.md "Errors"): the JSON path of a
//! body field, the name of a query parameter, one entry per wrong field, in
//! words that never name a Rust type; and JSON responses say
//! `application/json; charset=utf-8`.

mod support;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn call<S, B>(app: &S, req: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let content_type = support::header(&res, "content-type");
    let bytes = test::read_body(res).await;
    Reply {
        status,
        content_type,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// `(field, message)` of a 422, checking no message names a Rust type.
fn fields(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"], "validation_error");
    let details = reply.body["details"].as_array().expect("details");
    let found: Vec<(String, String)> = details
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap_or_default().to_owned(),
                d["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let text = reply.body.to_string();
    for rust in [
        "struct ",
        "i64",
        "u32",
        "u64",
        "String",
        "Option",
        "Request",
        "OffsetDateTime",
        "`",
    ] {
        assert!(!text.contains(rust), "{rust} in {text}");
    }
    found
}

fn names(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(f, _)| f.as_str()).collect()
}

async fn token<S, B>(app: &S) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let register = test::TestRequest::post()
        .uri("/api/v1/auth/register")
        .set_json(
            json!({"username": "gina", "email": "gina@example.com", "password": "correct horse"}),
        )
        .to_request();
    let reply = call(app, register).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let login = test::TestRequest::post()
        .uri("/api/v1/auth/token")
        .set_json(json!({"username": "gina", "password": "correct horse"}))
        .to_request();
    let reply = call(app, login).await;
    reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn post_json(uri: &str, token: &str, body: Value) -> Request {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
        .to_request()
}

#[actix_web::test]
async fn body_fields_are_named_by_their_path_one_entry_each() {
    let stores = support::memory_stores();
    let state = support::billing_state(&stores).await;
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let token = token(&app).await;

    let reply = call(
        &app,
        post_json("/api/v1/chat", &token, json!({"message": 42})),
    )
    .await;
    assert_eq!(
        fields(&reply),
        [("message".into(), "must be a string, not a number".into())]
    );

    let reply = call(
        &app,
        post_json("/api/v1/auth/token", "", json!({"password": 12345678})),
    )
    .await;
    assert_eq!(names(&fields(&reply)), ["password", "username"]);

    let reply = call(&app, post_json("/api/v1/auth/register", "", json!({}))).await;
    assert_eq!(names(&fields(&reply)), ["username", "email", "password"]);

    let reply = call(
        &app,
        post_json(
            "/api/v1/billing/tenants/gina/subscription",
            &token,
            json!({"plan_code": "pro", "seat_count": "two", "auto_renew": "yes"}),
        ),
    )
    .await;
    assert_eq!(names(&fields(&reply)), ["auto_renew", "seat_count"]);

    let reply = call(
        &app,
        post_json(
            "/api/v1/billing/tenants/gina/subscription/cancel",
            &token,
            json!({"cancel_at_period_end": "soon"}),
        ),
    )
    .await;
    assert_eq!(
        fields(&reply),
        [(
            "cancel_at_period_end".into(),
            "must be true or false, not a string".into()
        )]
    );
    let reply = call(
        &app,
        post_json(
            "/api/v1/billing/tenants/gina/subscription/cancel",
            &token,
            json!([true]),
        ),
    )
    .await;
    assert_eq!(
        fields(&reply),
        [("body".into(), "must be a JSON object".into())]
    );

    let reply = call(
        &app,
        post_json(
            "/api/v1/billing/tenants/gina/usage",
            &token,
            json!({"feature_key": "messages", "quantity": 1.5, "period_start": 7}),
        ),
    )
    .await;
    assert_eq!(names(&fields(&reply)), ["period_start", "quantity"]);
    let reply = call(
        &app,
        post_json(
            "/api/v1/billing/tenants/gina/usage",
            &token,
            json!({"feature_key": "messages", "quantity": 1_000_001}),
        ),
    )
    .await;
    assert_eq!(
        fields(&reply),
        [("quantity".into(), "must be between 1 and 1000000".into())],
        "the edge enforces the range the document declares"
    );
}

#[actix_web::test]
async fn a_chat_context_must_be_an_object_when_present() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let token = token(&app).await;
    for context in [json!("text"), json!([1]), json!(3)] {
        let reply = call(
            &app,
            post_json(
                "/api/v1/chat",
                &token,
                json!({"message": "hi", "context": context}),
            ),
        )
        .await;
        assert_eq!(names(&fields(&reply)), ["context"], "{context}");
    }
    for context in [json!({"page": "home"}), Value::Null] {
        let reply = call(
            &app,
            post_json(
                "/api/v1/chat",
                &token,
                json!({"message": "hi", "context": context}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.body);
    }
}

#[actix_web::test]
async fn query_parameters_are_named() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let token = token(&app).await;
    let get = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request()
    };
    let reply = call(&app, get("/api/v1/conversations?limit=abc&page=x")).await;
    assert_eq!(names(&fields(&reply)), ["limit", "page"]);
    let reply = call(&app, get("/api/v1/conversations?limit=0")).await;
    assert_eq!(names(&fields(&reply)), ["limit"]);
    let reply = call(&app, get("/api/v1/conversations/search?limit=abc")).await;
    assert_eq!(names(&fields(&reply)), ["limit", "q"]);
}

#[actix_web::test]
async fn bodies_that_are_not_json_objects() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let raw = |content_type: &str, body: &'static str| {
        test::TestRequest::post()
            .uri("/api/v1/auth/token")
            .insert_header(("content-type", content_type))
            .set_payload(body)
            .to_request()
    };
    let reply = call(&app, raw("application/json", "{\"username\": ")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_json");
    let reply = call(&app, raw("application/json", "")).await;
    assert_eq!(reply.body["error"], "invalid_json");
    let reply = call(&app, raw("application/json", "\"just a string\"")).await;
    assert_eq!(names(&fields(&reply)), ["body"]);
    let reply = call(&app, raw("text/plain", "{}")).await;
    assert_eq!(names(&fields(&reply)), ["body"]);
    let reply = call(
        &app,
        raw(
            "application/json; charset=utf-8",
            "{\"username\": \"x\", \"password\": \"y\"}",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "a charset is fine");
}

#[actix_web::test]
async fn json_responses_declare_utf_8() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    for req in [
        test::TestRequest::get().uri("/health").to_request(),
        test::TestRequest::get().uri("/api/v1/agents").to_request(),
        test::TestRequest::get().uri("/openapi.json").to_request(),
        test::TestRequest::get().uri("/no/such/route").to_request(),
        test::TestRequest::delete()
            .uri("/api/v1/agents")
            .to_request(),
        test::TestRequest::get().uri("/api/v1/auth/me").to_request(),
    ] {
        let uri = req.uri().to_string();
        let reply = call(&app, req).await;
        assert_eq!(
            reply.content_type, "application/json; charset=utf-8",
            "{uri} ({})",
            reply.status
        );
    }
}
