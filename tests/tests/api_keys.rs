//! API keys across two server processes sharing Postgres and Redis: a
//! key's rate limit is one budget for both, a revocation on one is seen by
//! the other on its next request, the operator commands create and revoke
//! keys, and no log line carries a key.

use agents_e2e::postgres::{TestDatabase, redis_available};
use agents_e2e::{TestServer, run_in};
use serde_json::{Value, json};

const REDIS_URL: &str = "redis://127.0.0.1:6379/0";
const SECRET: &str = "api-key-e2e-shared-secret-0123456789abcdef";

async fn list(http: &reqwest::Client, server: &TestServer, key: &str) -> u16 {
    http.get(format!("{}/api/v1/conversations", server.base_url))
        .header("X-API-Key", key)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_a_keys_rate_limit_and_see_its_revocation_at_once() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    if !redis_available(REDIS_URL) {
        return;
    }
    let envs = [
        ("DATABASE_URL", database.url.as_str()),
        ("AUTO_RUN_MIGRATIONS", "true"),
        ("REDIS_URL", REDIS_URL),
        ("SECRET_KEY", SECRET),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let operator = |args: &[&str]| -> Value {
        let mut with_password = envs.to_vec();
        with_password.push(("AGENTS_USER_PASSWORD", "correct horse"));
        let (status, stdout, stderr) = run_in(dir.path(), args, &with_password, None);
        assert!(status.success(), "{args:?}: {stderr}");
        serde_json::from_str(stdout.trim()).expect("one JSON object")
    };
    let created = tokio::task::block_in_place(|| {
        operator(&[
            "user",
            "create",
            "--username",
            "ops",
            "--email",
            "ops@example.com",
        ]);
        operator(&[
            "api-key",
            "create",
            "--tenant",
            "ops",
            "--name",
            "script",
            "--scope",
            "chat",
            "--scope",
            "conversations:read",
            "--rate-limit-per-minute",
            "3",
        ])
    });
    let limited = created["api_key"]["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(limited.starts_with("agk_"), "{created}");
    assert_eq!(
        created["api_key"]["scopes"],
        json!(["chat", "conversations:read"])
    );

    let a = TestServer::start(&envs);
    let b = TestServer::start(&envs);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for server in [&a, &b, &a, &b, &a] {
        statuses.push(list(&http, server, &limited).await);
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 429, 429],
        "one budget for both replicas"
    );

    // Revoked through A, refused by B on its next request.
    let tokens: Value = http
        .post(format!("{}/api/v1/auth/token", a.base_url))
        .json(&json!({"username": "ops", "password": "correct horse"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let made: Value = http
        .post(format!("{}/api/v1/tenants/ops/api-keys", a.base_url))
        .bearer_auth(access)
        .json(&json!({"name": "second"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let second = made["key"].as_str().unwrap_or_default().to_owned();
    assert_eq!(list(&http, &b, &second).await, 200);
    let revoked = http
        .delete(format!(
            "{}/api/v1/tenants/ops/api-keys/{}",
            a.base_url,
            made["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(access)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 204);
    assert_eq!(
        list(&http, &b, &second).await,
        401,
        "B sees the revocation at once"
    );

    // The operator's revocation works the same way.
    let id = created["api_key"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let out = tokio::task::block_in_place(|| operator(&["api-key", "revoke", "--id", &id]));
    assert!(out["api_key"]["revoked_at"].is_string(), "{out}");
    assert_eq!(list(&http, &a, &limited).await, 401);
    let (status, _, stderr) = tokio::task::block_in_place(|| {
        run_in(
            dir.path(),
            &["api-key", "revoke", "--id", "not-a-uuid"],
            &envs,
            None,
        )
    });
    assert!(
        !status.success() && stderr.contains("\"not-a-uuid\""),
        "{stderr}"
    );

    for server in [&a, &b] {
        let log = server.log();
        for key in [&limited, &second] {
            assert!(!log.contains(key.as_str()), "a log carries a key");
            assert!(
                !log.contains(&key[12..]),
                "a log carries the secret part of a key"
            );
        }
    }
}
