//! Calling the app as a client would: requests with a bearer token, the
//! answer's status, `Retry-After` and JSON body, and registered users.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::{Value, json};

/// What came back.
pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub async fn call<S, B>(app: &S, req: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        retry_after,
        body,
    }
}

pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["success"], false, "{}", reply.body);
    assert_eq!(reply.body["error"], code, "{}", reply.body);
}

pub fn req(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request {
    let mut r = match method {
        "GET" => test::TestRequest::get(),
        "PATCH" => test::TestRequest::patch(),
        _ => test::TestRequest::post(),
    }
    .uri(uri);
    if let Some(token) = token {
        r = r.insert_header(("Authorization", format!("Bearer {token}")));
    }
    match body {
        Some(body) => r.set_json(body).to_request(),
        None => r.to_request(),
    }
}

/// Registers `name` and returns (access token, personal tenant id, user id).
pub async fn user<S, B>(app: &S, name: &str) -> (String, String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"});
    let reg = call(app, req("POST", "/api/v1/auth/register", None, Some(body))).await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.body);
    let login = json!({"username": name, "password": "correct horse"});
    let tok = call(app, req("POST", "/api/v1/auth/token", None, Some(login))).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&tok.body["access_token"]),
        text(&reg.body["tenant"]["id"]),
        text(&reg.body["user"]["id"]),
    )
}
