//! Operator commands and logs: `user create` / `user deactivate` on the
//! server's SQLite file, and JSON log lines carrying the correlation id but
//! never a password or a token.

use agents_e2e::{TestServer, run_in};
use serde_json::{Value, json};

#[tokio::test]
async fn an_operator_creates_and_deactivates_a_user_without_http() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let secret = [("SECRET_KEY", "operator-test-secret-0123456789abcdefgh")];
    let (status, stdout, stderr) = run_in(
        data_dir.path(),
        &[
            "user",
            "create",
            "--username",
            "ops",
            "--email",
            "ops@example.com",
            "--tenant",
            "Acme Corp",
            "--tenant-slug",
            "acme",
        ],
        &secret,
        Some("a-strong-password\n"),
    );
    assert!(status.success(), "{stderr}");
    let created: Value = serde_json::from_str(stdout.trim()).expect("JSON on stdout");
    assert_eq!(created["user"]["username"], "ops");
    assert_eq!(created["tenants"][1]["slug"], "acme");
    assert!(!stdout.contains("a-strong-password") && !stderr.contains("a-strong-password"));

    let (status, _, stderr) = run_in(
        data_dir.path(),
        &[
            "user",
            "create",
            "--username",
            "nopass",
            "--email",
            "n@example.com",
        ],
        &secret,
        Some(""),
    );
    assert!(!status.success(), "an empty password is refused");
    assert!(stderr.contains("password"), "{stderr}");

    let path = data_dir.path().to_path_buf();
    let server = TestServer::start_in(data_dir, &[("USE_IN_MEMORY_REPO", "false"), secret[0]]);
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/api/v1/auth/token", server.base_url))
        .header("X-Correlation-ID", "login-trace-42")
        .json(&json!({"username": "ops", "password": "a-strong-password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.expect("json");
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = http
        .get(format!("{}/api/v1/auth/me", server.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    let me: Value = me.json().await.expect("json");
    let slugs: Vec<&str> = me["data"]["tenants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert!(slugs.contains(&"acme"), "{slugs:?}");

    let (status, _, stderr) = run_in(
        &path,
        &["user", "deactivate", "--username", "ops"],
        &secret,
        None,
    );
    assert!(status.success(), "{stderr}");
    let me = http
        .get(format!("{}/api/v1/auth/me", server.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(
        me.status(),
        401,
        "a deactivated user's token stops working at once"
    );

    let log = server.log();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["correlation_id"] == "login-trace-42"
                || l["span"]["correlation_id"] == "login-trace-42"
        });
    assert!(
        line.is_some(),
        "a JSON log line carries the correlation id:\n{log}"
    );
    for secret in [
        "a-strong-password",
        access.as_str(),
        tokens["refresh_token"].as_str().unwrap_or("-"),
    ] {
        assert!(!log.contains(secret), "the log leaks a secret");
    }
}
