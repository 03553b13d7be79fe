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

#[actix_web::test]
async fn every_operation_answers_as_documented() {
    let (recorder, handle) = {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        (recorder, handle)
    };
    let _local = metrics::set_default_local_recorder(&recorder);
    let stores = support::memory_stores();
    let state = support::with_billing(support::state_on(&stores, None), &stores);
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
    let (get, post, patch, delete) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);

    // The validator itself: a body that drifted (billing usage where chat
    // usage belongs, a role outside the enum) is caught.
    let chat_schema = json!({"$ref": "#/components/schemas/ChatMetadata"});
    let drifted = json!({"model_used": "m", "tools_available": [], "tool_calls": [], "handoffs": [],
                         "usage": {"tenant_id": "t", "plan_code": null, "period_start": "2026-01-01T00:00:00Z",
                                   "period_end": "2026-02-01T00:00:00Z", "features": []}});
    assert!(!c.errors(&chat_schema, &drifted, "drift").is_empty());
    let tenant = json!({"id": "00000000-0000-0000-0000-000000000000", "slug": "s", "name": "n", "role": "king"});
    assert!(
        !c.errors(
            &json!({"$ref": "#/components/schemas/TenantBody"}),
            &tenant,
            "enum"
        )
        .is_empty()
    );

    // Directory, probes, docs, metrics, catalog.
    for path in [
        "/",
        "/health",
        "/health/ready",
        "/metrics",
        "/docs",
        "/openapi.json",
    ] {
        c.call(get.clone(), path, path, None, None).await;
    }
    c.call(get.clone(), "/api/v1/agents", "/api/v1/agents", None, None)
        .await;
    c.call(get.clone(), "/api/v1/tools", "/api/v1/tools", None, None)
        .await;

    // Accounts.
    let register = "/api/v1/auth/register";
    let user = json!({"username": "hana", "email": "hana@example.com", "password": "correct horse", "display_name": "Hana"});
    assert_eq!(
        c.call(post.clone(), register, register, None, Some(user.clone()))
            .await
            .0,
        201
    );
    assert_eq!(
        c.call(post.clone(), register, register, None, Some(user))
            .await
            .0,
        409
    );
    assert_eq!(
        c.call(
            post.clone(),
            register,
            register,
            None,
            Some(json!({"username": 1}))
        )
        .await
        .0,
        422
    );
    let malformed = test::TestRequest::post()
        .uri(register)
        .insert_header(("content-type", "application/json"))
        .set_payload("{oops")
        .to_request();
    assert_eq!(c.check(post.clone(), register, malformed).await.0, 400);
    let huge = json!({"username": "x".repeat(5000)});
    assert_eq!(
        c.call(post.clone(), register, register, None, Some(huge))
            .await
            .0,
        413
    );
    c.call(
        post.clone(),
        register,
        register,
        None,
        Some(json!({"username": "ivan", "email": "ivan@example.com", "password": "correct horse"})),
    )
    .await;

    let token_path = "/api/v1/auth/token";
    let wrong = json!({"username": "hana", "password": "nope nope"});
    assert_eq!(
        c.call(post.clone(), token_path, token_path, None, Some(wrong))
            .await
            .0,
        401
    );
    let (status, pair) = c
        .call(
            post.clone(),
            token_path,
            token_path,
            None,
            Some(json!({"username": "hana", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, 200);
    let token = text(&pair, "access_token");
    let refresh_path = "/api/v1/auth/refresh";
    let (status, pair) = c
        .call(
            post.clone(),
            refresh_path,
            refresh_path,
            None,
            Some(json!({"refresh_token": text(&pair, "refresh_token")})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        c.call(
            post.clone(),
            refresh_path,
            refresh_path,
            None,
            Some(json!({"refresh_token": "nope"}))
        )
        .await
        .0,
        401
    );
    let logout = "/api/v1/auth/logout";
    assert_eq!(
        c.call(
            post.clone(),
            logout,
            logout,
            None,
            Some(json!({"refresh_token": text(&pair, "refresh_token")}))
        )
        .await
        .0,
        204
    );
    let me = "/api/v1/auth/me";
    assert_eq!(c.call(get.clone(), me, me, Some(&token), None).await.0, 200);
    assert_eq!(c.call(get.clone(), me, me, Some("bad"), None).await.0, 401);
    let t = Some(token.as_str());

    // Tenants and members.
    let tenants = "/api/v1/tenants";
    c.call(get.clone(), tenants, tenants, t, None).await;
    assert_eq!(
        c.call(
            post.clone(),
            tenants,
            tenants,
            t,
            Some(json!({"name": "Acme", "slug": "acme"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        c.call(
            post.clone(),
            tenants,
            tenants,
            t,
            Some(json!({"name": "Acme", "slug": "acme"}))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        c.call(
            post.clone(),
            tenants,
            tenants,
            t,
            Some(json!({"name": " "}))
        )
        .await
        .0,
        422
    );
    let members = "/api/v1/tenants/{tenant_id}/members";
    c.call(
        get.clone(),
        members,
        "/api/v1/tenants/acme/members",
        t,
        None,
    )
    .await;
    assert_eq!(
        c.call(
            get.clone(),
            members,
            "/api/v1/tenants/nope-nope/members",
            t,
            None
        )
        .await
        .0,
        403
    );
    let (status, member) = c
        .call(
            post.clone(),
            members,
            "/api/v1/tenants/acme/members",
            t,
            Some(json!({"username_or_email": "ivan", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        c.call(
            post.clone(),
            members,
            "/api/v1/tenants/acme/members",
            t,
            Some(json!({"username_or_email": "ivan", "role": "viewer"}))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        c.call(
            post.clone(),
            members,
            "/api/v1/tenants/acme/members",
            t,
            Some(json!({"username_or_email": "nobody", "role": "viewer"}))
        )
        .await
        .0,
        422
    );
    assert_eq!(
        c.call(
            post.clone(),
            members,
            "/api/v1/tenants/acme/members",
            t,
            Some(json!({"username_or_email": "ivan", "role": "king"}))
        )
        .await
        .0,
        422
    );
    let member_path = "/api/v1/tenants/{tenant_id}/members/{user_id}";
    let ivan = format!("/api/v1/tenants/acme/members/{}", text(&member, "user_id"));
    assert_eq!(
        c.call(
            patch.clone(),
            member_path,
            &ivan,
            t,
            Some(json!({"role": "admin"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        c.call(
            patch.clone(),
            member_path,
            "/api/v1/tenants/acme/members/not-a-uuid",
            t,
            Some(json!({"role": "admin"}))
        )
        .await
        .0,
        422
    );
    assert_eq!(
        c.call(delete.clone(), member_path, &ivan, t, None).await.0,
        204
    );
    assert_eq!(
        c.call(delete.clone(), member_path, &ivan, t, None).await.0,
        404
    );

    // Chat and history.
    let chat = "/api/v1/chat";
    let (status, reply) = c
        .call(
            post.clone(),
            chat,
            chat,
            t,
            Some(
                json!({"message": "hello there", "conversation_id": "conf-1", "context": {"a": 1}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        c.call(post.clone(), chat, chat, t, Some(json!({"message": "   "})))
            .await
            .0,
        422
    );
    assert_eq!(
        c.call(
            post.clone(),
            chat,
            chat,
            None,
            Some(json!({"message": "hi"}))
        )
        .await
        .0,
        401
    );
    let stream = test::TestRequest::post()
        .uri("/api/v1/chat/stream")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(json!({"message": "stream please", "conversation_id": "conf-1"}))
        .to_request();
    assert_eq!(
        c.check(post.clone(), "/api/v1/chat/stream", stream).await.0,
        200
    );
    let list = "/api/v1/conversations";
    c.call(
        get.clone(),
        list,
        "/api/v1/conversations?page=1&limit=5",
        t,
        None,
    )
    .await;
    assert_eq!(
        c.call(
            get.clone(),
            list,
            "/api/v1/conversations?limit=abc",
            t,
            None
        )
        .await
        .0,
        422
    );
    let search = "/api/v1/conversations/search";
    c.call(
        get.clone(),
        search,
        "/api/v1/conversations/search?q=hello",
        t,
        None,
    )
    .await;
    assert_eq!(
        c.call(get.clone(), search, "/api/v1/conversations/search", t, None)
            .await
            .0,
        422
    );
    let one = "/api/v1/conversations/{conversation_id}";
    c.call(get.clone(), one, "/api/v1/conversations/conf-1", t, None)
        .await;
    assert_eq!(
        c.call(get.clone(), one, "/api/v1/conversations/missing", t, None)
            .await
            .0,
        404
    );
    assert_eq!(
        c.call(get.clone(), one, "/api/v1/conversations/bad%20id", t, None)
            .await
            .0,
        422
    );
    let status_path = "/api/v1/agents/{name}/status";
    c.call(
        get.clone(),
        status_path,
        "/api/v1/agents/triage/status",
        t,
        None,
    )
    .await;
    assert_eq!(
        c.call(
            get.clone(),
            status_path,
            "/api/v1/agents/nobody/status",
            t,
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        c.call(delete.clone(), one, "/api/v1/conversations/conf-1", t, None)
            .await
            .0,
        204
    );
    assert_eq!(
        c.call(delete.clone(), one, "/api/v1/conversations/conf-1", t, None)
            .await
            .0,
        404
    );

    // Billing.
    let plans = "/api/v1/billing/plans";
    c.call(get.clone(), plans, plans, None, None).await;
    let sub = "/api/v1/billing/tenants/{tenant_id}/subscription";
    let acme = "/api/v1/billing/tenants/acme/subscription";
    assert_eq!(c.call(get.clone(), sub, acme, t, None).await.0, 404);
    assert_eq!(
        c.call(
            post.clone(),
            sub,
            acme,
            t,
            Some(json!({"plan_code": "nope"}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        c.call(
            post.clone(),
            sub,
            acme,
            t,
            Some(json!({"plan_code": "pro", "seat_count": 0}))
        )
        .await
        .0,
        422
    );
    assert_eq!(
        c.call(
            post.clone(),
            sub,
            acme,
            t,
            Some(json!({"plan_code": "pro", "billing_email": "ops@acme.example", "seat_count": 3}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        c.call(
            post.clone(),
            sub,
            acme,
            t,
            Some(json!({"plan_code": "pro"}))
        )
        .await
        .0,
        409
    );
    c.call(get.clone(), sub, acme, t, None).await;
    assert_eq!(
        c.call(patch.clone(), sub, acme, t, Some(json!({}))).await.0,
        400
    );
    assert_eq!(
        c.call(
            patch.clone(),
            sub,
            acme,
            t,
            Some(json!({"auto_renew": false}))
        )
        .await
        .0,
        200
    );
    let cancel = "/api/v1/billing/tenants/{tenant_id}/subscription/cancel";
    let bare = test::TestRequest::post()
        .uri("/api/v1/billing/tenants/acme/subscription/cancel")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .to_request();
    assert_eq!(c.check(post.clone(), cancel, bare).await.0, 200);
    assert_eq!(
        c.call(
            post.clone(),
            cancel,
            "/api/v1/billing/tenants/acme/subscription/cancel",
            t,
            Some(json!({"cancel_at_period_end": false}))
        )
        .await
        .0,
        200
    );
    let usage = "/api/v1/billing/tenants/{tenant_id}/usage";
    let acme_usage = "/api/v1/billing/tenants/acme/usage";
    assert_eq!(
        c.call(
            post.clone(),
            usage,
            acme_usage,
            t,
            Some(json!({"feature_key": "messages", "quantity": 3, "idempotency_key": "k-1"}))
        )
        .await
        .0,
        202
    );
    assert_eq!(
        c.call(
            post.clone(),
            usage,
            acme_usage,
            t,
            Some(json!({"feature_key": "messages", "quantity": 0}))
        )
        .await
        .0,
        422
    );
    c.call(get.clone(), usage, acme_usage, t, None).await;
    assert_eq!(
        c.call(
            get.clone(),
            usage,
            "/api/v1/billing/tenants/acme/usage?period_start=yesterday",
            t,
            None
        )
        .await
        .0,
        422
    );
    let hook = test::TestRequest::post()
        .uri("/api/v1/billing/webhooks/stripe")
        .insert_header(("content-type", "application/json"))
        .set_payload("{}")
        .to_request();
    assert_eq!(
        c.check(post.clone(), "/api/v1/billing/webhooks/stripe", hook)
            .await
            .0,
        400
    );

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

#[actix_web::test]
async fn enforced_constraints_and_optional_bodies_are_declared() {
    let stores = support::memory_stores();
    let state = support::with_billing(support::state_on(&stores, None), &stores);
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let register = schema("RegisterRequest");
    assert_eq!(register["properties"]["username"]["minLength"], 3);
    assert_eq!(register["properties"]["username"]["maxLength"], 50);
    assert!(register["properties"]["username"]["pattern"].is_string());
    assert_eq!(register["properties"]["password"]["minLength"], 8);
    assert_eq!(register["properties"]["password"]["maxLength"], 128);
    assert_eq!(
        schema("RoleName")["enum"],
        json!(["owner", "admin", "viewer"])
    );
    assert!(schema("ChatBody")["properties"]["message"]["pattern"].is_string());
    let usage = &schema("UsageRequest")["properties"]["quantity"];
    assert_eq!(
        (usage["minimum"].clone(), usage["maximum"].clone()),
        (json!(1), json!(1_000_000))
    );
    assert_eq!(
        schema("StartSubscriptionRequest")["properties"]["seat_count"]["minimum"],
        1
    );
    assert!(
        schema("TokenUsageBody")["properties"]["prompt_tokens"].is_object(),
        "chat usage has its own schema name"
    );
    assert!(schema("UsageBody")["properties"]["features"].is_object());

    let parameter = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or(Value::Null)
    };
    let limit = parameter("/api/v1/conversations", "limit");
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (json!(1), json!(100))
    );
    assert_eq!(parameter("/api/v1/conversations", "page")["minimum"], 1);
    assert!(parameter("/api/v1/conversations/search", "q")["pattern"].is_string());
    // Every rule the derive cannot write landed on a field that exists.
    for (name, field, key) in [
        ("ChatBody", "message", "pattern"),
        ("CreateTenantRequest", "name", "pattern"),
        ("CreateTenantRequest", "slug", "not"),
        ("RegisterRequest", "display_name", "pattern"),
        ("UsageRequest", "period_start", "pattern"),
        ("UsageRequest", "period_end", "pattern"),
    ] {
        assert!(
            !schema(name)["properties"][field][key].is_null(),
            "{name}.{field} lacks {key}"
        );
    }
    assert!(schema("UsageRequest")["anyOf"].is_array());
    assert_eq!(
        schema("UpdateSubscriptionRequest")["anyOf"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let usage_get = &doc["paths"]["/api/v1/billing/tenants/{tenant_id}/usage"]["get"]["parameters"];
    assert!(
        usage_get.as_array().is_some_and(|ps| ps
            .iter()
            .filter(|p| p["schema"]["pattern"].is_string())
            .count()
            == 2),
        "{usage_get}"
    );
    let user_id =
        &doc["paths"]["/api/v1/tenants/{tenant_id}/members/{user_id}"]["patch"]["parameters"];
    assert!(
        user_id.as_array().is_some_and(|ps| ps
            .iter()
            .any(|p| p["name"] == "user_id" && p["schema"]["pattern"].is_string())),
        "{user_id}"
    );

    let cancel = &doc["paths"]["/api/v1/billing/tenants/{tenant_id}/subscription/cancel"]["post"]["requestBody"];
    assert_ne!(cancel["required"], true, "the body may be absent: {cancel}");
    assert_eq!(
        cancel["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/CancelRequest"}),
        "an optional body, never null"
    );
    let chat = &doc["paths"]["/api/v1/chat"]["post"]["responses"];
    for status in [
        "400", "401", "403", "413", "422", "429", "500", "502", "503", "504",
    ] {
        assert!(chat[status].is_object(), "chat lacks {status}");
    }
    assert!(chat["429"]["headers"]["Retry-After"].is_object());
    assert!(chat["401"]["headers"]["WWW-Authenticate"].is_object());
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
}
