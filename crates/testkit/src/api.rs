//! Calling the app as a client would: requests with a bearer token, the
//! answer's status, `Retry-After`, headers and JSON body, registered users,
//! and server-sent events parsed.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::{Value, json};

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

/// Sends `req`; the status, `Retry-After` and the body as JSON (`null` when
/// it is not JSON).
pub async fn call<S, B>(app: &S, req: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        retry_after,
        headers,
        body,
    }
}

/// Asserts the API.md error envelope with `status` and `code`.
/// A 401 also names the scheme in `WWW-Authenticate`.
pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["success"], false, "{}", reply.body);
    assert_eq!(reply.body["error"], code, "{}", reply.body);
    if status == StatusCode::UNAUTHORIZED {
        let scheme = reply.headers.get("www-authenticate");
        assert_eq!(scheme.and_then(|v| v.to_str().ok()), Some("Bearer"));
    }
}

/// A request with an optional bearer token and JSON body.
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

/// Sends `req`; the status, the body as JSON and the headers.
pub async fn json_call<S, B>(
    app: &S,
    req: Request,
) -> (StatusCode, Value, actix_web::http::header::HeaderMap)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(app, req).await;
    (reply.status, reply.body, reply.headers)
}

/// Registers and logs `username` in; the access token.
pub async fn token<S, B>(app: &S, username: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    user(app, username).await.0
}

/// `req` with `token` as bearer.
pub fn as_user(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {token}")))
}

/// Parses an SSE body into its `data:` JSON events, checking `id:` lines.
pub fn sse_events(body: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for frame in body.split("\n\n").filter(|f| !f.trim().is_empty()) {
        if frame.starts_with(":") || frame.starts_with("retry:") {
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

/// A POST with a JSON body.
pub fn post(uri: &str, body: Value) -> Request {
    test::TestRequest::post()
        .uri(uri)
        .set_json(body)
        .to_request()
}

/// A GET with `token` as bearer.
pub fn get_as(uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
}

/// `req` with `token` as bearer.
pub fn with_auth(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {token}")))
}

/// Registers `username` (password `correct horse`); the 201 body.
pub async fn register<S, B>(app: &S, username: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        post("/api/v1/auth/register", json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// Logs `username` in; (access token, refresh token).
pub async fn login<S, B>(app: &S, username: &str) -> (String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        post(
            "/api/v1/auth/token",
            json!({"username": username, "password": "correct horse"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// `owner` adds the user `name` to `tenant` with `role` (asserting 201).
pub async fn add_member<S, B>(app: &S, owner: &str, tenant: &str, name: &str, role: &str)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let uri = format!("/api/v1/tenants/{tenant}/members");
    let body = json!({"username_or_email": name, "role": role});
    let added = call(app, req("POST", &uri, Some(owner), Some(body))).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
}

/// The reply's `Content-Type` ("" when absent).
pub fn content_type(reply: &Reply) -> &str {
    reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}
