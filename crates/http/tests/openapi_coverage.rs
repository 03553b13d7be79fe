//! Every route the app mounts is in `/openapi.json`, and every documented
//! route is mounted. The mounted list is derived without the document: from
//! the route macros in the source files of a hand-kept module list (a new
//! route module must be added to it), and by probing each documented path
//! and method against the running app.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use agents_http::telemetry::{MetricsEndpoint, prometheus_builder};
use agents_http::{AppState, HttpSettings, build_app};
use serde_json::Value;

/// Source files that declare routes, with the scope they are mounted under.
const ROUTE_SOURCES: &[(&str, &str)] = &[
    ("routes/root.rs", ""),
    ("routes/console.rs", "/app"),
    ("routes/health.rs", ""),
    ("routes/openapi.rs", ""),
    ("telemetry/endpoint.rs", ""),
    ("routes/auth.rs", "/api/v1"),
    ("routes/tenants.rs", "/api/v1"),
    ("routes/api_keys.rs", "/api/v1"),
    ("routes/agents.rs", "/api/v1"),
    ("routes/tools.rs", "/api/v1"),
    ("routes/chat.rs", "/api/v1"),
    ("routes/runs.rs", "/api/v1"),
    ("routes/conversations.rs", "/api/v1"),
    ("routes/billing.rs", "/api/v1"),
];

/// Modules under `routes/` that declare no route of their own.
const NOT_ROUTE_MODULES: &[&str] = &["fallback", "sse"];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

fn src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// `(METHOD, path)` of every actix route macro in `file`, checking that each
/// carries a `#[utoipa::path]` (which is what puts it in the document).
fn declared_routes(file: &Path, prefix: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let lines: Vec<&str> = text.lines().collect();
    let mut routes = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let line = line.trim();
        for method in METHODS {
            let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) else {
                continue;
            };
            let path = rest.split('"').next().unwrap_or_default();
            // The attribute block above the handler must hold utoipa::path.
            let documented = lines[..index]
                .iter()
                .rev()
                .take_while(|l| !l.trim().is_empty() && l.trim() != "}")
                .any(|l| l.contains("#[utoipa::path"));
            assert!(
                documented,
                "{}: #[{method}(\"{path}\")] has no #[utoipa::path]",
                file.display()
            );
            routes.push((method.to_uppercase(), format!("{prefix}{}", template(path))));
        }
    }
    routes
}

/// An actix path with its parameters' patterns dropped (`{tail:.*}` is
/// `{tail}`), as utoipa writes it in the document.
fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let (mut in_param, mut in_pattern) = (false, false);
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => (in_param, in_pattern) = (false, false),
            ':' if in_param => in_pattern = true,
            _ => {}
        }
        if !in_pattern || c == '}' {
            out.push(c);
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// The app with every optional feature on (billing), so all routes mount.
async fn full_state() -> AppState {
    support::billing_state(&support::memory_stores()).await
}

async fn document() -> Value {
    let app = test::init_service(build_app(full_state().await, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    test::read_body_json(res).await
}

#[actix_web::test]
async fn every_route_declared_in_the_source_is_in_the_document() {
    let routes_rs = std::fs::read_to_string(src().join("routes.rs")).expect("routes.rs");
    for line in routes_rs.lines() {
        let Some(name) = line
            .trim()
            .trim_start_matches("pub ")
            .strip_prefix("mod ")
            .and_then(|rest| rest.strip_suffix(';'))
        else {
            continue;
        };
        let file = format!("routes/{name}.rs");
        assert!(
            NOT_ROUTE_MODULES.contains(&name) || ROUTE_SOURCES.iter().any(|(f, _)| *f == file),
            "routes.rs declares `{name}`: add it to ROUTE_SOURCES (with its scope) or NOT_ROUTE_MODULES"
        );
    }
    let app_rs = std::fs::read_to_string(src().join("app.rs")).expect("app.rs");
    assert!(
        !app_rs.contains(".route("),
        "app.rs mounts a route with .route(): mount a #[utoipa::path] handler with .service() so it is documented"
    );

    let doc = documented(&document().await);
    let mut checked = 0;
    for (file, prefix) in ROUTE_SOURCES {
        let path = src().join(file);
        if !path.exists() {
            continue; // a module not written yet
        }
        let declared = declared_routes(&path, prefix);
        let missing: Vec<_> = declared.iter().filter(|r| !doc.contains(*r)).collect();
        assert!(
            missing.is_empty(),
            "{file}: mounted but not documented: {missing:?}"
        );
        checked += declared.len();
    }
    assert!(checked >= 30, "only {checked} routes found in the sources");
}

#[actix_web::test]
async fn every_documented_route_is_mounted() {
    let (recorder, handle) = {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        (recorder, handle)
    };
    let _local = metrics::set_default_local_recorder(&recorder);
    let settings = HttpSettings {
        metrics: Some(MetricsEndpoint::new(handle)),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(full_state().await, settings)).await;
    let doc = document().await;
    let routes = documented(&doc);
    assert!(routes.len() >= 20, "{routes:?}");
    for (method, template) in routes {
        // Any value fits every path parameter here (ids are UUIDs, names free text).
        let uri: String = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "0b7e5f9e-8a51-4d3c-9f5e-2f6f7d1c9a10"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let req = test::TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(&uri)
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {template}"
        );
        if status == StatusCode::NOT_FOUND {
            let body: Value = test::read_body_json(res).await;
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                !message.starts_with("No route"),
                "{method} {template} is documented but not mounted"
            );
        }
    }
}
