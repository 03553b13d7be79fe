//! Real responses against `/openapi.json`: every operation is called with
//! good and bad input, and each answer's status must be documented for the
//! operation and its JSON body must match the documented schema (JSON
//! Schema 2020-12, formats checked). A handler or DTO that drifts from the
//! document fails here.

mod support;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::test;
use agents_http::routes::console;
use agents_http::telemetry::{MetricsEndpoint, prometheus_builder};
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

/// The app under test and its document.
struct Checker<S> {
    app: S,
    doc: Value,
    checked: Cell<usize>,
    covered: RefCell<BTreeSet<(String, String)>>,
}

impl<S, B> Checker<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Calls `template` (filled with `uri`) and checks the answer against
    /// the document; returns the status and JSON body.
    async fn call(
        &self,
        method: Method,
        template: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = test::TestRequest::default().method(method.clone()).uri(uri);
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        self.check(method, template, req.to_request()).await
    }

    async fn check(&self, method: Method, template: &str, req: Request) -> (u16, Value) {
        let res = test::call_service(&self.app, req).await;
        let status = res.status().as_u16();
        let content_type = support::header(&res, "content-type");
        let bytes = test::read_body(res).await;
        let name = method.as_str().to_lowercase();
        self.covered
            .borrow_mut()
            .insert((name.clone(), template.to_owned()));
        let operation = &self.doc["paths"][template][&name];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the document"
        );
        let response = &operation["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} answered {status}, which the document does not list: {}",
            String::from_utf8_lossy(&bytes)
        );
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if bytes.is_empty() {
            assert!(
                response.get("content").is_none(),
                "{method} {template} {status}: documented with a body, answered none"
            );
            return (status, body);
        }
        // Media types compare without their parameters (charset, version).
        let essence = |media: &str| {
            media
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let media = essence(&content_type);
        let documented = response["content"]
            .as_object()
            .and_then(|content| content.iter().find(|(key, _)| essence(key) == media))
            .map(|(_, value)| value.clone())
            .unwrap_or(Value::Null);
        assert!(
            documented.is_object(),
            "{method} {template} {status}: content type {content_type} is not documented: {}",
            response["content"]
        );
        if media == "application/json" {
            self.validate(
                &documented["schema"],
                &body,
                &format!("{method} {template} {status}"),
            );
        }
        self.checked.set(self.checked.get() + 1);
        (status, body)
    }

    /// What is wrong with `instance` under `schema` (empty: it matches).
    fn errors(&self, schema: &Value, instance: &Value, what: &str) -> Vec<String> {
        // Resolve `#/components/...` against a root holding the components.
        let root = json!({"components": self.doc["components"], "allOf": [schema]});
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    fn validate(&self, schema: &Value, instance: &Value, what: &str) {
        let errors = self.errors(schema, instance, what);
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the document:\n{}\n{instance}",
            errors.join("\n")
        );
    }
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// One call of the walk: `METHOD template`, the URI it is called with, whether
/// it carries the token, the JSON body, and the status expected.
type Step = (&'static str, &'static str, String, bool, Option<Value>, u16);

fn step(
    method: &'static str,
    template: &'static str,
    uri: impl Into<String>,
    auth: bool,
    body: Option<Value>,
    status: u16,
) -> Step {
    (method, template, uri.into(), auth, body, status)
}

/// The calls of the walk, in order (after the accounts set-up): every
/// operation with good and bad input. One line per call reads as a table.
#[rustfmt::skip]
fn walk(logout: Value, ivan: String) -> Vec<Step> {
    let login = "/api/v1/auth/token";
    let tenant_members = "/api/v1/tenants/{tenant_id}/members";
    let member = "/api/v1/tenants/{tenant_id}/members/{user_id}";
    let conversation = "/api/v1/conversations/{conversation_id}";
    let subscription = "/api/v1/billing/tenants/{tenant_id}/subscription";
    let acme_subscription = "/api/v1/billing/tenants/acme/subscription";
    let cancel = "/api/v1/billing/tenants/{tenant_id}/subscription/cancel";
    let usage = "/api/v1/billing/tenants/{tenant_id}/usage";
    let api_keys = "/api/v1/tenants/{tenant_id}/api-keys";
    let api_key = "/api/v1/tenants/{tenant_id}/api-keys/{key_id}";
    vec![
        step("GET", "/", "/", false, None, 200),
        step("GET", "/app", "/app", false, None, 200),
        step("GET", "/app/{route}", "/app/usage", false, None, 200),
        step("GET", "/app/{route}", "/app/assets/nope", false, None, 404),
        step("GET", "/app/assets/{hash}/{file}", format!("{}/app.js", console::assets_path()), false, None, 200),
        step("GET", "/app/assets/{hash}/{file}", format!("{}/style.css", console::assets_path()), false, None, 200),
        step("GET", "/app/assets/{hash}/{file}", "/app/assets/0000/app.js", false, None, 404),
        step("GET", "/health", "/health", false, None, 200),
        step("GET", "/health/ready", "/health/ready", false, None, 200),
        step("GET", "/metrics", "/metrics", false, None, 200),
        step("GET", "/docs", "/docs", false, None, 308),
        step("GET", "/openapi.json", "/openapi.json", false, None, 200),
        step("GET", "/api/v1/agents", "/api/v1/agents", false, None, 200),
        step("GET", "/api/v1/tools", "/api/v1/tools", false, None, 200),
        step("POST", login, login, false, Some(json!({"username": "hana", "password": "nope nope"})), 401),
        step("POST", "/api/v1/auth/refresh", "/api/v1/auth/refresh", false, Some(json!({"refresh_token": "nope"})), 401),
        step("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", false, Some(logout), 204),
        step("GET", "/api/v1/auth/me", "/api/v1/auth/me", true, None, 200),
        step("GET", "/api/v1/tenants", "/api/v1/tenants", true, None, 200),
        step("POST", "/api/v1/tenants", "/api/v1/tenants", true, Some(json!({"name": "Acme", "slug": "acme"})), 409),
        step("POST", "/api/v1/tenants", "/api/v1/tenants", true, Some(json!({"name": " "})), 422),
        step("GET", tenant_members, "/api/v1/tenants/acme/members", true, None, 200),
        step("GET", tenant_members, "/api/v1/tenants/nope-nope/members", true, None, 403),
        step("POST", tenant_members, "/api/v1/tenants/acme/members", true, Some(json!({"username_or_email": "ivan", "role": "viewer"})), 409),
        step("POST", tenant_members, "/api/v1/tenants/acme/members", true, Some(json!({"username_or_email": "nobody", "role": "viewer"})), 422),
        step("POST", tenant_members, "/api/v1/tenants/acme/members", true, Some(json!({"username_or_email": "ivan", "role": "king"})), 422),
        step("PATCH", member, ivan.clone(), true, Some(json!({"role": "admin"})), 200),
        step("PATCH", member, "/api/v1/tenants/acme/members/not-a-uuid", true, Some(json!({"role": "admin"})), 422),
        step("DELETE", member, ivan.clone(), true, None, 204),
        step("DELETE", member, ivan, true, None, 404),
        step("POST", api_keys, "/api/v1/tenants/acme/api-keys", true, Some(json!({"name": "ci", "scopes": ["chat"], "expires_at": "2999-01-01T00:00:00Z", "rate_limit_per_minute": 60, "monthly_message_limit": 100, "monthly_token_limit": 10000})), 201),
        step("POST", api_keys, "/api/v1/tenants/acme/api-keys", true, Some(json!({"name": "ci", "scopes": ["root"]})), 422),
        step("GET", api_keys, "/api/v1/tenants/acme/api-keys", true, None, 200),
        step("GET", api_keys, "/api/v1/tenants/nope-nope/api-keys", true, None, 403),
        step("DELETE", api_key, "/api/v1/tenants/acme/api-keys/not-a-uuid", true, None, 422),
        step("DELETE", api_key, "/api/v1/tenants/acme/api-keys/00000000-0000-4000-8000-000000000000", true, None, 404),
        step("POST", "/api/v1/chat", "/api/v1/chat", true, Some(json!({"message": "hello there", "conversation_id": "conf-1", "context": {"a": 1}})), 200),
        step("POST", "/api/v1/chat", "/api/v1/chat", true, Some(json!({"message": "   "})), 422),
        step("POST", "/api/v1/chat", "/api/v1/chat", false, Some(json!({"message": "hi"})), 401),
        step("POST", "/api/v1/chat/stream", "/api/v1/chat/stream", true, Some(json!({"message": "stream please", "conversation_id": "conf-1"})), 200),
        step("GET", "/api/v1/conversations", "/api/v1/conversations?page=1&limit=5", true, None, 200),
        step("GET", "/api/v1/conversations", "/api/v1/conversations?limit=abc", true, None, 422),
        step("GET", "/api/v1/conversations/search", "/api/v1/conversations/search?q=hello", true, None, 200),
        step("GET", "/api/v1/conversations/search", "/api/v1/conversations/search", true, None, 422),
        step("GET", conversation, "/api/v1/conversations/conf-1", true, None, 200),
        step("GET", conversation, "/api/v1/conversations/missing", true, None, 404),
        step("GET", conversation, "/api/v1/conversations/bad%20id", true, None, 422),
        step("GET", "/api/v1/agents/{name}/status", "/api/v1/agents/triage/status", true, None, 200),
        step("GET", "/api/v1/agents/{name}/status", "/api/v1/agents/nobody/status", true, None, 404),
        step("DELETE", conversation, "/api/v1/conversations/conf-1", true, None, 204),
        step("DELETE", conversation, "/api/v1/conversations/conf-1", true, None, 404),
        step("GET", "/api/v1/billing/plans", "/api/v1/billing/plans", false, None, 200),
        step("GET", subscription, acme_subscription, true, None, 404),
        step("POST", subscription, acme_subscription, true, Some(json!({"plan_code": "nope"})), 404),
        step("POST", subscription, acme_subscription, true, Some(json!({"plan_code": "pro", "seat_count": 0})), 422),
        step("POST", subscription, acme_subscription, true, Some(json!({"plan_code": "pro", "billing_email": "ops@acme.example", "seat_count": 3.0})), 201),
        step("POST", subscription, acme_subscription, true, Some(json!({"plan_code": "pro"})), 409),
        step("GET", subscription, acme_subscription, true, None, 200),
        step("PATCH", subscription, acme_subscription, true, Some(json!({})), 400),
        step("PATCH", subscription, acme_subscription, true, Some(json!({"auto_renew": false})), 200),
        step("POST", cancel, "/api/v1/billing/tenants/acme/subscription/cancel", true, Some(json!({"cancel_at_period_end": true})), 200),
        step("POST", usage, "/api/v1/billing/tenants/acme/usage", true, Some(json!({"feature_key": "messages", "quantity": 3, "idempotency_key": "k-1"})), 202),
        step("POST", usage, "/api/v1/billing/tenants/acme/usage", true, Some(json!({"feature_key": "messages", "quantity": 0})), 422),
        step("GET", usage, "/api/v1/billing/tenants/acme/usage", true, None, 200),
        step("GET", usage, "/api/v1/billing/tenants/acme/usage?period_start=yesterday", true, None, 422),
    ]
}

/// The calls of the run routes for the run `id`: good and bad ids.
#[rustfmt::skip]
fn run_steps(id: &str) -> Vec<(Method, &'static str, String, bool, u16)> {
    let unknown = uuid::Uuid::new_v4();
    let (run, events) = ("/api/v1/chat/runs/{run_id}", "/api/v1/chat/runs/{run_id}/events");
    let stop = "/api/v1/chat/runs/{run_id}/cancel";
    vec![
        (Method::GET, run, format!("/api/v1/chat/runs/{id}"), true, 200),
        (Method::GET, run, format!("/api/v1/chat/runs/{id}"), false, 401),
        (Method::GET, run, "/api/v1/chat/runs/not-a-uuid".into(), true, 422),
        (Method::GET, run, format!("/api/v1/chat/runs/{unknown}"), true, 404),
        (Method::GET, events, format!("/api/v1/chat/runs/{id}/events?after=2"), true, 200),
        (Method::GET, events, format!("/api/v1/chat/runs/{id}/events?after=-1"), true, 422),
        (Method::GET, events, format!("/api/v1/chat/runs/{unknown}/events"), true, 404),
        (Method::POST, stop, format!("/api/v1/chat/runs/{id}/cancel"), true, 202),
        (Method::POST, stop, format!("/api/v1/chat/runs/{unknown}/cancel"), true, 404),
        (Method::POST, stop, "/api/v1/chat/runs/x/cancel".into(), true, 422),
    ]
}

#[actix_web::test]
async fn every_operation_answers_as_documented() {
    let (recorder, handle) = {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        (recorder, handle)
    };
    let _local = metrics::set_default_local_recorder(&recorder);
    let stores = support::memory_stores();
    let state = support::billing_state(&stores).await;
    let settings = HttpSettings {
        metrics: Some(MetricsEndpoint::new(handle)),
        max_body_bytes: 4096,
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(state, settings)).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    let c = Checker {
        app,
        doc,
        checked: Cell::new(0),
        covered: RefCell::default(),
    };

    // The validator itself: a body that drifted (billing usage where chat
    // usage belongs, a role outside the enum) is caught.
    let drifted = json!({"model_used": "m", "tools_available": [], "tool_calls": [], "handoffs": [],
        "usage": {"tenant_id": "t", "plan_code": null, "period_start": "2026-01-01T00:00:00Z",
                  "period_end": "2026-02-01T00:00:00Z", "features": []}});
    let chat_metadata = json!({"$ref": "#/components/schemas/ChatMetadata"});
    assert!(!c.errors(&chat_metadata, &drifted, "drift").is_empty());
    let king = json!({"id": "00000000-0000-0000-0000-000000000000", "slug": "s", "name": "n", "role": "king"});
    let tenant_body = json!({"$ref": "#/components/schemas/TenantBody"});
    assert!(!c.errors(&tenant_body, &king, "enum").is_empty());

    // Accounts first: the rest of the walk needs a token and a second user.
    let user = |name: &str| json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse", "display_name": " "});
    let register = "/api/v1/auth/register";
    for (body, status) in [
        (user("hana"), 201),
        (user("hana"), 409),
        (user("ivan"), 201),
        (json!({"username": 1}), 422),
        (json!({"username": "x".repeat(5000)}), 413),
    ] {
        let (got, body) = c
            .call(Method::POST, register, register, None, Some(body))
            .await;
        assert_eq!(got, status, "{body}");
    }
    let malformed = test::TestRequest::post()
        .uri(register)
        .insert_header(("content-type", "application/json"))
        .set_payload("{oops")
        .to_request();
    assert_eq!(c.check(Method::POST, register, malformed).await.0, 400);
    let login = "/api/v1/auth/token";
    let good = json!({"username": "hana", "password": "correct horse"});
    let (_, pair) = c
        .call(Method::POST, login, login, None, Some(good.clone()))
        .await;
    let token = text(&pair, "access_token");
    let refresh = json!({"refresh_token": text(&pair, "refresh_token")});
    let (_, second) = c
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            "/api/v1/auth/refresh",
            None,
            Some(refresh),
        )
        .await;
    let logout = json!({"refresh_token": text(&second, "refresh_token")});
    let tenant_members = "/api/v1/tenants/{tenant_id}/members";
    let (_, ivan) = c
        .call(
            Method::POST,
            "/api/v1/tenants",
            "/api/v1/tenants",
            Some(&token),
            Some(json!({"name": "Acme", "slug": "acme"})),
        )
        .await;
    assert_eq!(ivan["slug"], "acme");
    let (_, ivan) = c
        .call(
            Method::POST,
            tenant_members,
            "/api/v1/tenants/acme/members",
            Some(&token),
            Some(json!({"username_or_email": "ivan", "role": "viewer"})),
        )
        .await;
    let ivan = format!("/api/v1/tenants/acme/members/{}", text(&ivan, "user_id"));

    let walk = walk(logout, ivan);
    for (method, template, uri, auth, body, status) in walk {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let token = auth.then_some(token.as_str());
        let (got, answer) = c.call(method.clone(), template, &uri, token, body).await;
        assert_eq!(got, status, "{method} {uri}: {answer}");
    }
    let api_keys = "/api/v1/tenants/{tenant_id}/api-keys";
    let (_, keys) = c
        .call(
            Method::GET,
            api_keys,
            "/api/v1/tenants/acme/api-keys",
            Some(&token),
            None,
        )
        .await;
    let revoke = format!("/api/v1/tenants/acme/api-keys/{}", text(&keys[0], "id"));
    let api_key = "/api/v1/tenants/{tenant_id}/api-keys/{key_id}";
    let (got, _) = c
        .call(Method::DELETE, api_key, &revoke, Some(&token), None)
        .await;
    assert_eq!(got, 204);
    // Runs: a fresh run's routes, good and bad ids.
    let chat = json!({"message": "a run"});
    let (_, reply) = c
        .call(
            Method::POST,
            "/api/v1/chat",
            "/api/v1/chat",
            Some(&token),
            Some(chat),
        )
        .await;
    for (method, template, uri, auth, status) in run_steps(&text(&reply, "run_id")) {
        let token = auth.then_some(token.as_str());
        let (got, answer) = c.call(method.clone(), template, &uri, token, None).await;
        assert_eq!(got, status, "{method} {uri}: {answer}");
    }

    // Requests a JSON body cannot express: no body at all, a raw payload.
    let cancel = "/api/v1/billing/tenants/{tenant_id}/subscription/cancel";
    let bare_cancel = test::TestRequest::post()
        .uri("/api/v1/billing/tenants/acme/subscription/cancel")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .to_request();
    assert_eq!(c.check(Method::POST, cancel, bare_cancel).await.0, 200);
    let hook = test::TestRequest::post()
        .uri("/api/v1/billing/webhooks/stripe")
        .insert_header(("content-type", "application/json"))
        .set_payload("{}")
        .to_request();
    let webhook = "/api/v1/billing/webhooks/stripe";
    assert_eq!(c.check(Method::POST, webhook, hook).await.0, 400);

    let documented: BTreeSet<(String, String)> = c.doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, _)| (method.clone(), path.clone()))
        })
        .collect();
    let missed: Vec<_> = documented
        .difference(&c.covered.borrow())
        .cloned()
        .collect();
    assert!(
        missed.is_empty(),
        "operations never called here: {missed:?}"
    );
    assert!(c.checked.get() >= 60, "{} answers checked", c.checked.get());
}
