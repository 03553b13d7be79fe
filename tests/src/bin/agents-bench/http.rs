//! The HTTP scenarios against a running release server: authenticated `me`,
//! logins, chat turns and streams with the fake model in this process, and
//! the memory of 1,000 open streams.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agents_e2e::fake_openai::{FakeOpenAi, Served};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::server::{self, Server, Store};
use crate::stats::{Run, drive, ms, ms_signed, quantile, rate, row, sorted};

pub(crate) mod streams;

pub use streams::{open_streams, stream};

/// Load settings shared by the scenarios.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent clients.
    pub concurrency: usize,
    /// Measured window.
    pub duration: Duration,
    /// Unmeasured warm-up before it.
    pub warmup: Duration,
    /// Upper bound on requests per phase.
    pub max_requests: u64,
}

pub(crate) fn env_for(fake: &FakeOpenAi) -> [(&'static str, String); 3] {
    [
        ("OPENAI_BASE_URL", fake.base_url.clone()),
        ("OPENAI_API_KEY", "sk-bench".to_owned()),
        ("OPENAI_MODEL", "gpt-bench".to_owned()),
    ]
}

pub(crate) fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn ok_status(res: reqwest::Response) -> Result<reqwest::Response, String> {
    if res.status().is_success() {
        Ok(res)
    } else {
        let status = res.status();
        Err(format!(
            "{status}: {}",
            res.text().await.unwrap_or_default()
        ))
    }
}

/// `GET /api/v1/auth/me` with a valid token under load; on Postgres also
/// the SQL statements one request runs (from `pg_stat_database`).
pub async fn me(binary: &Path, store: Store, load: Load) -> Result<(), String> {
    let server = Server::start(binary, store, &[]).await?;
    let http = server::client(load.concurrency)?;
    let token = server::register_and_login(&http, &server.base, "bench_me").await?;
    let url = format!("{}/api/v1/auth/me", server.base);
    let op = {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        move |_, _| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let res = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                ok_status(res)
                    .await?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
        }
    };
    // On Postgres, count the statements of every request sent from here on.
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
    let cpu_before = server.cpu_time()?;
    let run = drive(load.concurrency, load.duration, load.max_requests, op).await;
    let cpu = server.cpu_time()?.saturating_sub(cpu_before);
    run.check("me")?;
    let lat = run.latencies();
    row(
        &format!(
            "GET /api/v1/auth/me, {}, {} clients",
            store.label(),
            load.concurrency
        ),
        &rate(run.per_second()),
        &ms(quantile(&lat, 0.5)),
        &ms(quantile(&lat, 0.99)),
    );
    eprintln!(
        "me ({}): {} requests, server CPU {} per request",
        store.label(),
        run.samples.len(),
        ms(cpu / u32::try_from(run.samples.len()).unwrap_or(u32::MAX).max(1))
    );
    if let Some((conn, before)) = stats {
        tokio::time::sleep(STATS_DELAY).await;
        // Our own reading after `before` is one more commit: noise.
        let after = commits(&conn).await? - 1;
        let _ = conn.close().await;
        let requests =
            warmup.samples.len() as u64 + warmup.errors + run.samples.len() as u64 + run.errors;
        let per_request = (after - before) as f64 / requests.max(1) as f64;
        eprintln!(
            "me (Postgres): {} commits over {requests} requests: {per_request:.3} SQL statements per request",
            after - before
        );
        row(
            "  SQL statements per `me` (1 is the token check)",
            &format!("{per_request:.2}"),
            "",
            "",
        );
    }
    Ok(())
}

/// Postgres publishes a backend's statistics when it goes idle, at most
/// this long after its last activity (`PGSTAT_IDLE_INTERVAL`, plus margin).
pub(crate) const STATS_DELAY: Duration = Duration::from_secs(11);

/// Committed transactions of the database so far (each statement outside
/// a transaction is one), as far as the backends have reported them.
pub(crate) async fn commits(db: &sea_orm::DatabaseConnection) -> Result<i64, String> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        ))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no pg_stat_database row")?;
    row.try_get::<i64>("", "xact_commit")
        .map_err(|e| e.to_string())
}

/// Logins per second with correct passwords (Argon2id verification, one
/// hash per core) from `concurrency` clients.
pub async fn logins(binary: &Path, store: Store, load: Load) -> Result<(), String> {
    let server = Server::start(binary, store, &[]).await?;
    let http = server::client(load.concurrency)?;
    server::register_and_login(&http, &server.base, "bench_login").await?;
    let base = server.base.clone();
    let op = move |_, _| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            server::login(&http, &base, "bench_login").await?;
            Ok(())
        }
    };
    drive(load.concurrency, load.warmup, load.max_requests, op.clone()).await;
    let run = drive(load.concurrency, load.duration, load.max_requests, op).await;
    run.check("login")?;
    let lat = run.latencies();
    row(
        &format!(
            "POST /api/v1/auth/token (logins), {}, {} clients",
            store.label(),
            load.concurrency
        ),
        &rate(run.per_second()),
        &ms(quantile(&lat, 0.5)),
        &ms(quantile(&lat, 0.99)),
    );
    Ok(())
}

fn message_id(message: &str) -> Option<u64> {
    message.strip_prefix("bench ")?.parse().ok()
}

/// The model's time for each request of a run, by request id.
pub(crate) fn model_time(served: Vec<Served>) -> HashMap<u64, Served> {
    served
        .into_iter()
        .filter_map(|s| message_id(&s.user_message).map(|id| (id, s)))
        .collect()
}

/// Latency minus the model's time for each sample, in microseconds, sorted.
fn overheads(run: &Run, served: &HashMap<u64, Served>) -> Result<Vec<i64>, String> {
    let mut out: Vec<i64> = run
        .samples
        .iter()
        .filter_map(|s| {
            let model = served.get(&s.id)?;
            let total = s.latency().as_micros() as i64;
            let model = (model.finished - model.accepted).as_micros() as i64;
            Some(total - model)
        })
        .collect();
    if out.len() < run.samples.len() {
        return Err(format!(
            "only {} of {} turns were matched to a model call",
            out.len(),
            run.samples.len()
        ));
    }
    out.sort_unstable();
    Ok(out)
}

fn quantile_i64(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn chat_op(
    http: reqwest::Client,
    url: String,
    token: String,
    run_tag: &'static str,
) -> impl Fn(usize, u64) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
+ Send
+ Sync
+ Clone
+ 'static {
    move |worker, id| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        Box::pin(async move {
            // Each client continues its own conversation, so every turn
            // reads up to 20 earlier messages and appends two.
            let res = http
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"message": format!("bench {id}"), "conversation_id": format!("bench-{run_tag}-{worker}")}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body: Value = ok_status(res)
                .await?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if !body["response"]
                .as_str()
                .is_some_and(|r| r.starts_with("You said: bench"))
            {
                return Err(format!("unexpected answer {body}"));
            }
            Ok(())
        })
    }
}

/// `POST /api/v1/chat` with the fake model answering at once: turns per
/// second, latency, and the server's own share of each turn (latency minus
/// the time from the model's accepting the connection to its last byte),
/// under load and for a lone client; plus the server's CPU time per turn.
pub async fn chat(binary: &Path, store: Store, load: Load) -> Result<(), String> {
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    let env = env_for(&fake);
    let server = Server::start(binary, store, &borrowed(&env)).await?;
    let http = server::client(load.concurrency)?;
    let token = server::register_and_login(&http, &server.base, "bench_chat").await?;
    let url = format!("{}/api/v1/chat", server.base);

    let op = chat_op(http.clone(), url.clone(), token.clone(), "load");
    drive(load.concurrency, load.warmup, load.max_requests, op.clone()).await;
    fake.take_served();
    let cpu_before = server.cpu_time()?;
    let run = drive(load.concurrency, load.duration, load.max_requests, op).await;
    let cpu = server.cpu_time()?.saturating_sub(cpu_before);
    run.check("chat")?;
    let served = model_time(fake.take_served());
    let over = overheads(&run, &served)?;
    let lat = run.latencies();
    let label = store.label();
    row(
        &format!("POST /api/v1/chat, {label}, {} clients", load.concurrency),
        &rate(run.per_second()),
        &ms(quantile(&lat, 0.5)),
        &ms(quantile(&lat, 0.99)),
    );
    row(
        &format!(
            "  server time per turn (minus model), {} clients",
            load.concurrency
        ),
        "",
        &ms_signed(quantile_i64(&over, 0.5)),
        &ms_signed(quantile_i64(&over, 0.99)),
    );
    let turns = u32::try_from(run.samples.len()).unwrap_or(u32::MAX).max(1);
    row("  server CPU time per turn", &ms(cpu / turns), "", "");

    // A lone client: the same overhead without queueing behind 31 others.
    let lone = Load {
        concurrency: 1,
        duration: load.duration.min(Duration::from_secs(5)),
        ..load
    };
    let op = chat_op(http, url, token, "lone");
    drive(1, Duration::from_secs(1), lone.max_requests, op.clone()).await;
    fake.take_served();
    let run = drive(1, lone.duration, lone.max_requests, op).await;
    run.check("chat (one client)")?;
    let over = overheads(&run, &model_time(fake.take_served()))?;
    row(
        "  server time per turn (minus model), 1 client",
        &rate(run.per_second()),
        &ms_signed(quantile_i64(&over, 0.5)),
        &ms_signed(quantile_i64(&over, 0.99)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_round_trip_through_the_message() {
        assert_eq!(message_id("bench 1000000042"), Some(1_000_000_042));
        assert_eq!(message_id("hello"), None);
        assert_eq!(quantile_i64(&[-3, 1, 2, 9], 0.5), 1);
    }
}
