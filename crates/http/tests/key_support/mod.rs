//! Helpers the API key tests share: calls, users, keys.
#![allow(dead_code)]

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::{Value, json};

pub struct Reply {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

pub async fn call<S, B>(app: &S, req: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

pub fn bearer(req: test::TestRequest, token: &str) -> Request {
    req.insert_header(("Authorization", format!("Bearer {token}")))
        .to_request()
}

/// Registers `name` and returns (access token, personal tenant id).
pub async fn user<S, B>(app: &S, name: &str) -> (String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reg = call(
        app,
        test::TestRequest::post()
            .uri("/api/v1/auth/register")
            .set_json(json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}))
            .to_request(),
    )
    .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.body);
    let login = call(
        app,
        test::TestRequest::post()
            .uri("/api/v1/auth/token")
            .set_json(json!({"username": name, "password": "correct horse"}))
            .to_request(),
    )
    .await;
    let token = login.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tenant = reg.body["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (token, tenant)
}

/// Creates a key in `tenant` with `body`, returning the 201 body.
pub async fn create_key<S, B>(app: &S, token: &str, tenant: &str, body: Value) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        bearer(
            test::TestRequest::post()
                .uri(&format!("/api/v1/tenants/{tenant}/api-keys"))
                .set_json(body),
            token,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

pub fn secret(created: &Value) -> String {
    created["key"].as_str().unwrap_or_default().to_owned()
}

/// Builds a request of one route family for a tenant id.
pub type Route = fn(&str) -> test::TestRequest;

pub fn chat(conversation: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri("/api/v1/chat")
        .set_json(json!({"message": "hello", "conversation_id": conversation}))
}
