//! Each route of the foundation: success shapes and headers.

mod support;

use support::header;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_domain::StoreError;
use agents_domain::health::MockHealthProbe;
use agents_http::{HttpSettings, build_app};
use serde_json::Value;

#[actix_web::test]
async fn health_reports_status_version_and_uptime_with_tracing_headers() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = res
        .headers()
        .get("x-correlation-id")
        .expect("correlation id")
        .to_str()
        .expect("ascii");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "a fresh id is a UUID: {id}"
    );
    let took: f64 = header(&res, "x-process-time").parse().expect("seconds");
    assert!((0.0..5.0).contains(&took));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["version"], "9.9.9");
    assert!(body["uptime"].as_f64().is_some());
    assert!(
        time::OffsetDateTime::parse(
            body["timestamp"].as_str().expect("string"),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
}

#[actix_web::test]
async fn a_well_formed_incoming_correlation_id_is_echoed_and_a_bad_one_replaced() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let req = test::TestRequest::get()
        .uri("/health")
        .insert_header(("X-Request-ID", "abc.123_x-y"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(header(&res, "x-correlation-id"), "abc.123_x-y");
    let req = test::TestRequest::get()
        .uri("/health")
        .insert_header(("X-Correlation-ID", "bad id with spaces"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_ne!(header(&res, "x-correlation-id"), "bad id with spaces");
}

#[actix_web::test]
async fn ready_is_200_without_a_database_probe() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/health/ready").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["status"], "ready");
}

#[actix_web::test]
async fn ready_is_503_with_the_envelope_when_the_database_fails() {
    let mut probe = MockHealthProbe::new();
    probe
        .expect_ping()
        .returning(|| Err(StoreError::Unavailable("connection refused".into())));
    let state = support::state_with_probe(Some(Arc::new(probe))).await;
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/health/ready").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("x-correlation-id"));
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["success"], false);
    assert_eq!(body["error"], "service_unavailable");
    assert!(
        !body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused"),
        "no internals leak"
    );
}

#[actix_web::test]
async fn root_points_at_docs_health_and_api() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let body: Value =
        test::call_and_read_body_json(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(body["service"], "Test Agents");
    assert_eq!(body["docs"], "/docs");
    assert_eq!(body["health"], "/health");
    assert_eq!(body["api"], "/api/v1");
    assert_eq!(body["chat"], "/api/v1/chat");
    assert_eq!(body["agents"], "/api/v1/agents");
}

#[actix_web::test]
async fn agents_are_listed_sorted_by_name() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let body: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get().uri("/api/v1/agents").to_request(),
    )
    .await;
    let names: Vec<&str> = body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["code_assistant", "data_analyst", "triage"]);
    assert!(
        body.as_array()
            .expect("list")
            .iter()
            .all(|a| a["status"] == "active")
    );
}

#[actix_web::test]
async fn tools_list_schemas_and_marks_web_search_unavailable_without_a_key() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let body: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get().uri("/api/v1/tools").to_request(),
    )
    .await;
    assert_eq!(body["total_tools"], 3);
    assert_eq!(
        body["tool_names"],
        serde_json::json!(["get_current_time", "search_conversations", "tavily_search"])
    );
    assert_eq!(
        body["categories"],
        serde_json::json!(["conversation", "utility", "web_search"])
    );
    let tavily = body["tools"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["name"] == "tavily_search")
        .expect("tool");
    assert_eq!(tavily["available"], false);
    assert_eq!(
        tavily["parameters"]["required"],
        serde_json::json!(["query"])
    );
}

#[actix_web::test]
async fn openapi_document_lists_every_mounted_route() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let doc: Value = test::call_and_read_body_json(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1")
    );
    assert_eq!(doc["info"]["version"], "9.9.9");
    for path in [
        "/",
        "/health",
        "/health/ready",
        "/api/v1/agents",
        "/api/v1/tools",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} missing from the document"
        );
    }
}

#[actix_web::test]
async fn cors_preflight_is_answered_and_exposes_our_headers() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let req = test::TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri("/api/v1/agents")
        .insert_header(("Origin", "https://app.example"))
        .insert_header(("Access-Control-Request-Method", "GET"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert!(res.status().is_success());
    assert!(res.headers().contains_key("access-control-allow-origin"));
    let req = test::TestRequest::get()
        .uri("/health")
        .insert_header(("Origin", "https://app.example"))
        .to_request();
    let res = test::call_service(&app, req).await;
    let exposed = header(&res, "access-control-expose-headers").to_lowercase();
    assert!(
        exposed.contains("x-correlation-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
}
