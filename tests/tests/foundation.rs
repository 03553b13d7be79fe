//! The real binary over TCP: probes, headers, the error envelope, bad
//! configuration, and a clean exit on SIGTERM.

use std::time::Duration;

use agents_e2e::{TestServer, run_to_exit};
use serde_json::Value;

#[test]
fn the_tests_run_the_server_cargo_built_for_this_package() {
    let canonical = |p: std::path::PathBuf| p.canonicalize().expect("the binary exists");
    assert_eq!(
        canonical(agents_e2e::server_binary()),
        canonical(env!("CARGO_BIN_EXE_agents-e2e-server").into())
    );
}

#[tokio::test]
async fn server_answers_health_with_headers_and_errors_with_the_envelope() {
    let server = TestServer::start(&[]);
    let client = reqwest::Client::new();

    let res = client
        .get(format!("{}/health", server.base_url))
        .send()
        .await
        .expect("health");
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-correlation-id"));
    assert!(res.headers().contains_key("x-process-time"));
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "healthy");

    let res = client
        .get(format!("{}/definitely/not/here", server.base_url))
        .header("X-Correlation-ID", "e2e-trace-1")
        .send()
        .await
        .expect("404");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-correlation-id"], "e2e-trace-1");
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "success": false,
            "error": "not_found",
            "message": "No route for GET /definitely/not/here.",
            "details": null
        })
    );

    let res = client
        .post(format!("{}/api/v1/agents", server.base_url))
        .send()
        .await
        .expect("405");
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "method_not_allowed");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = TestServer::start(&[]);
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn a_bad_port_stops_the_server_with_one_line_naming_the_key() {
    let (status, stderr) = run_to_exit(&[], &[("PORT", "abc")]);
    assert_eq!(status.code(), Some(2));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("PORT"), "{stderr}");
}

#[test]
fn an_unknown_log_format_stops_the_server() {
    let (status, stderr) = run_to_exit(&[], &[("LOG_FORMAT", "xml")]);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("LOG_FORMAT") && stderr.contains("json"),
        "{stderr}"
    );
}

#[tokio::test]
async fn log_level_warn_silences_every_target_the_migrator_included() {
    // SQLite in the data directory: the migrations run at start.
    let server = TestServer::start(&[("USE_IN_MEMORY_REPO", "false"), ("LOG_LEVEL", "warn")]);
    let res = reqwest::get(format!("{}/health", server.base_url))
        .await
        .expect("health");
    assert_eq!(res.status(), 200);
    let log = server.log();
    let levels: Vec<String> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| line["level"].as_str().map(str::to_owned))
        .collect();
    assert!(
        levels.iter().any(|l| l == "WARN"),
        "warnings still show (no model key):\n{log}"
    );
    assert!(
        levels.iter().all(|l| l == "WARN" || l == "ERROR"),
        "nothing below warn, from any target:\n{log}"
    );
    assert_eq!(
        levels.len(),
        log.lines().count(),
        "every line is a JSON log line:\n{log}"
    );
}
