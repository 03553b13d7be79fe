//! `GET /api/v1/conversations` authenticated by an API key and by a JWT,
//! side by side: throughput, p50/p99 and, on Postgres, SQL statements per
//! request. A key must cost no more than a token.

use std::path::Path;

use sea_orm::Database;
use serde_json::{Value, json};

use crate::http::{Load, STATS_DELAY, commits};
use crate::server::{self, Server, Store};
use crate::stats::{drive, ms, quantile, rate, row};

/// How a request presents itself.
#[derive(Clone)]
enum Credential {
    Jwt(String),
    Key(String),
}

impl Credential {
    fn label(&self) -> &'static str {
        match self {
            Credential::Jwt(_) => "JWT",
            Credential::Key(_) => "API key",
        }
    }
}

/// Both phases on one server, one after the other.
pub async fn conversations(binary: &Path, store: Store, load: Load) -> Result<(), String> {
    let server = Server::start(binary, store, &[]).await?;
    let http = server::client(load.concurrency)?;
    let token = server::register_and_login(&http, &server.base, "bench_keys").await?;
    let res = http
        .post(format!(
            "{}/api/v1/tenants/bench-keys/api-keys",
            server.base
        ))
        .bearer_auth(&token)
        .json(&json!({"name": "bench", "scopes": ["conversations:read"]}))
        .send()
        .await
        .map_err(|e| format!("create key: {e}"))?;
    let body: Value = res.json().await.map_err(|e| format!("key body: {e}"))?;
    let key = body["key"]
        .as_str()
        .ok_or_else(|| format!("no key in {body}"))?
        .to_owned();
    for credential in [Credential::Jwt(token), Credential::Key(key)] {
        phase(&server, &http, store, load, credential).await?;
    }
    Ok(())
}

async fn phase(
    server: &Server,
    http: &reqwest::Client,
    store: Store,
    load: Load,
    credential: Credential,
) -> Result<(), String> {
    let url = format!("{}/api/v1/conversations", server.base);
    let label = credential.label();
    let op = {
        let (http, url) = (http.clone(), url.clone());
        move |_, _| {
            let (http, url, credential) = (http.clone(), url.clone(), credential.clone());
            async move {
                let req = http.get(&url);
                let req = match &credential {
                    Credential::Jwt(token) => req.bearer_auth(token),
                    Credential::Key(key) => req.header("X-API-Key", key),
                };
                let res = req.send().await.map_err(|e| e.to_string())?;
                if !res.status().is_success() {
                    return Err(format!("{}", res.status()));
                }
                res.bytes().await.map_err(|e| e.to_string())?;
                Ok(())
            }
        }
    };
    let stats = match &server.database {
        Some(db) => {
            let conn = Database::connect(db.url.as_str())
                .await
                .map_err(|e| format!("stats connection: {e}"))?;
            tokio::time::sleep(STATS_DELAY).await;
            let before = commits(&conn).await?;
            Some((conn, before))
        }
        None => None,
    };
    let warmup = drive(load.concurrency, load.warmup, load.max_requests, op.clone()).await;
    let run = drive(load.concurrency, load.duration, load.max_requests, op).await;
    run.check(label)?;
    let lat = run.latencies();
    row(
        &format!(
            "GET /api/v1/conversations by {label}, {}, {} clients",
            store.label(),
            load.concurrency
        ),
        &rate(run.per_second()),
        &ms(quantile(&lat, 0.5)),
        &ms(quantile(&lat, 0.99)),
    );
    if let Some((conn, before)) = stats {
        tokio::time::sleep(STATS_DELAY).await;
        // Our own reading after `before` is one more commit: noise.
        let after = commits(&conn).await? - 1;
        let _ = conn.close().await;
        let requests =
            warmup.samples.len() as u64 + warmup.errors + run.samples.len() as u64 + run.errors;
        let per_request = (after - before) as f64 / requests.max(1) as f64;
        row(
            &format!("  SQL statements per request by {label} (auth + count + page)"),
            &format!("{per_request:.2}"),
            "",
            "",
        );
    }
    Ok(())
}
