//! `/metrics`, `/docs` and the per-address rate limit on the real app.
//! Each test records into its own local recorder, so tests running at the
//! same time never see each other's counts.

mod support;

use support::header;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::limiter::InMemoryRateLimiter;
use agents_application::tools::{CurrentTimeTool, ToolContext};
use agents_domain::clock::SystemClock;
use agents_domain::conversation::ConversationScope;
use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
use agents_http::telemetry::metrics::ActiveStream;
use agents_http::telemetry::{MeteredTool, MetricsEndpoint, PoolSample, prometheus_builder};
use agents_http::{HttpSettings, build_app};
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
use serde_json::Value;

fn recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = prometheus_builder().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// The exposition lines of `metric` (samples only, no HELP/TYPE).
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{metric}{{")) || line.starts_with(&format!("{metric} "))
        })
        .collect()
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_never_by_raw_path() {
    let (recorder, handle) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let settings = HttpSettings {
        metrics: Some(MetricsEndpoint::new(handle)),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(support::state().await, settings)).await;
    for name in ["secret-agent-7f3a", "another-one-91"] {
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/agents/{name}/status"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        header(&res, "content-type").starts_with("text/plain"),
        "{}",
        header(&res, "content-type")
    );
    let body = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    let requests = samples(&body, "http_requests_total");
    let line = requests
        .iter()
        .find(|l| l.contains(r#"route="/api/v1/agents/{name}/status""#))
        .unwrap_or_else(|| panic!("no counter for the template in:\n{body}"));
    assert!(
        line.contains(r#"method="GET""#) && line.contains(r#"status="401""#),
        "{line}"
    );
    assert!(
        line.ends_with(" 2"),
        "both requests count on one series: {line}"
    );
    assert!(
        !body.contains("secret-agent-7f3a"),
        "raw path values never become labels"
    );
    assert!(
        samples(&body, "http_request_duration_seconds_bucket")
            .iter()
            .any(|l| l.contains(r#"route="/api/v1/agents/{name}/status""#)),
        "latency histogram by route:\n{body}"
    );
}

#[actix_web::test]
async fn invented_methods_share_one_other_series() {
    let (recorder, handle) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let settings = HttpSettings {
        metrics: Some(MetricsEndpoint::new(handle)),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(support::state().await, settings)).await;
    for method in ["X4E7E93596", "BREW", "get"] {
        let req = test::TestRequest::default()
            .method(actix_web::http::Method::from_bytes(method.as_bytes()).expect("token"))
            .uri("/health")
            .to_request();
        test::call_service(&app, req).await;
    }
    let req = test::TestRequest::get().uri("/health").to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);

    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let body = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    let requests = samples(&body, "http_requests_total");
    for invented in ["X4E7E93596", "BREW", r#"method="get""#] {
        assert!(
            !body.contains(invented),
            "{invented} became a label:\n{body}"
        );
    }
    let other = requests
        .iter()
        .find(|l| l.contains(r#"method="OTHER""#))
        .unwrap_or_else(|| panic!("no OTHER series:\n{body}"));
    assert!(
        other.ends_with(" 3"),
        "three invented methods, one series: {other}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains(r#"method="GET""#) && l.contains(r#"route="/health""#)),
        "{body}"
    );
}

#[actix_web::test]
async fn metrics_answer_404_when_no_recorder_is_configured() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"], "not_found");
}

#[actix_web::test]
async fn the_pool_is_sampled_at_scrape_time() {
    let (recorder, handle) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let endpoint = MetricsEndpoint::new(handle)
        .with_pool_sampler(Arc::new(|| Some(PoolSample { in_use: 2, idle: 3 })));
    let body = endpoint.render();
    assert!(
        body.contains(r#"db_pool_connections{state="in_use"} 2"#),
        "{body}"
    );
    assert!(
        body.contains(r#"db_pool_connections{state="idle"} 3"#),
        "{body}"
    );
}

#[actix_web::test]
async fn streams_tools_and_model_runs_are_measured() {
    let (recorder, handle) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);

    let first = ActiveStream::open();
    let second = ActiveStream::open();
    assert!(handle.render().contains("sse_active_streams 2"));
    drop(first);
    drop(second);
    assert!(handle.render().contains("sse_active_streams 0"));

    let tool = MeteredTool::wrap(Arc::new(CurrentTimeTool::new(Arc::new(SystemClock))));
    assert_eq!(tool.name(), "get_current_time");
    let context = ToolContext {
        scope: ConversationScope {
            tenant_id: uuid::Uuid::new_v4().into(),
            user_id: uuid::Uuid::new_v4().into(),
            include_unowned: false,
        },
    };
    tool.call(context, serde_json::json!({}))
        .await
        .expect("the time");
    let body = handle.render();
    assert!(
        body.contains(r#"tool_calls_total{tool="get_current_time",outcome="ok"} 1"#),
        "{body}"
    );

    let mut turn = agents_http::telemetry::ChatTurnMetrics::start("triage", "gpt-4o-mini");
    use agents_application::chat::{ChatError, ChatEvent};
    turn.observe(&ChatEvent::Delta("Hel".into()));
    turn.observe(&ChatEvent::Delta("lo".into()));
    turn.observe(&ChatEvent::Error(ChatError::LlmTimeout));
    let body = handle.render();
    assert!(
        body.contains(
            r#"llm_time_to_first_token_seconds_count{agent="triage",model="gpt-4o-mini"} 1"#
        ),
        "one first token per run:\n{body}"
    );
    assert!(
        body.contains(
            r#"llm_errors_total{agent="triage",model="gpt-4o-mini",error="llm_timeout"} 1"#
        ),
        "{body}"
    );
}

#[actix_web::test]
async fn unauthenticated_auth_routes_are_limited_per_client_address_but_probes_never() {
    let policy = RateLimitPolicy::new(
        Arc::new(InMemoryRateLimiter::new()),
        RateLimits {
            anon_per_minute: 2,
            chat_per_minute: 0,
        },
    );
    let settings = HttpSettings {
        rate_limits: policy,
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(support::state().await, settings)).await;
    let login = |addr: &str| {
        test::TestRequest::post()
            .uri("/api/v1/auth/token")
            .peer_addr(addr.parse().expect("socket address"))
            .set_json(serde_json::json!({"username": "nobody", "password": "wrong-password"}))
            .to_request()
    };
    for _ in 0..2 {
        let res = test::call_service(&app, login("203.0.113.9:4000")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = test::call_service(&app, login("203.0.113.9:4001")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&res, "retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&retry));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["error"], "rate_limited");

    let register = test::TestRequest::post()
        .uri("/api/v1/auth/register")
        .peer_addr("203.0.113.9:4002".parse().expect("socket address"))
        .set_json(serde_json::json!({}))
        .to_request();
    let res = test::call_service(&app, register).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one budget per address"
    );

    let res = test::call_service(&app, login("198.51.100.1:4000")).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "another address has its own budget"
    );

    for _ in 0..5 {
        let probe = test::TestRequest::get()
            .uri("/health")
            .peer_addr("203.0.113.9:4003".parse().expect("socket address"))
            .to_request();
        assert_eq!(
            test::call_service(&app, probe).await.status(),
            StatusCode::OK
        );
    }
}

#[actix_web::test]
async fn docs_serve_an_offline_page_over_the_openapi_document() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/docs").to_request()).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&res, "location"), "/docs/");

    let res = test::call_service(&app, test::TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/html"));
    let page = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert!(page.contains("swagger-ui"), "{page}");
    assert!(
        !page.contains("://"),
        "no asset from a CDN: the page links only relative files"
    );

    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/docs/swagger-initializer.js")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let init = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert!(init.contains("/openapi.json"), "{init}");

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    for path in ["/docs", "/openapi.json", "/metrics"] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} is documented"
        );
    }

    let res =
        test::call_service(&app, test::TestRequest::post().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&res, "allow"), "GET");
}
