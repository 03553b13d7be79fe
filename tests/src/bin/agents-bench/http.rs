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
const STATS_DELAY: Duration = Duration::from_secs(11);

/// Committed transactions of the database so far (each statement outside
/// a transaction is one), as far as the backends have reported them.
async fn commits(db: &sea_orm::DatabaseConnection) -> Result<i64, String> {
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

/// One streamed turn as the client saw it.
struct Streamed {
    id: u64,
    start: Instant,
    deltas: Vec<Instant>,
}

/// Reads an SSE response to its terminal event; calls `on_delta` at each
/// `delta` event's arrival. Fails on an `error` event or a missing end.
async fn read_sse(
    mut res: reqwest::Response,
    mut on_delta: impl FnMut(Instant),
) -> Result<(), String> {
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        let arrived = Instant::now();
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            let frame = String::from_utf8_lossy(&frame);
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue; // keep-alive comment
            };
            let event: Value = serde_json::from_str(data).map_err(|e| format!("{e}: {data}"))?;
            match event["type"].as_str() {
                Some("delta") => on_delta(arrived),
                Some("done") => return Ok(()),
                Some("error") => return Err(format!("error event: {event}")),
                _ => {}
            }
        }
    }
    Err("stream ended without a terminal event".into())
}

pub(crate) async fn open_stream(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    id: u64,
) -> Result<reqwest::Response, String> {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&json!({"message": format!("bench {id}")}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ok_status(res).await
}

/// `POST /api/v1/chat/stream` from `concurrency` clients, the fake pausing
/// `pause` between chunks: time to the first `delta`, and how long each
/// chunk takes from the model's writing it to the client's reading it.
pub async fn stream(
    binary: &Path,
    store: Store,
    load: Load,
    pause: Duration,
) -> Result<(), String> {
    let fake = FakeOpenAi::start(pause).await;
    let env = env_for(&fake);
    let server = Server::start(binary, store, &borrowed(&env)).await?;
    let http = server::client(load.concurrency)?;
    let token = server::register_and_login(&http, &server.base, "bench_stream").await?;
    let url = format!("{}/api/v1/chat/stream", server.base);
    let records: Arc<Mutex<Vec<Streamed>>> = Arc::default();
    let op = {
        let records = records.clone();
        move |_, id| {
            let (http, url, token, records) =
                (http.clone(), url.clone(), token.clone(), records.clone());
            async move {
                let start = Instant::now();
                let res = open_stream(&http, &url, &token, id).await?;
                let mut deltas = Vec::new();
                read_sse(res, |at| deltas.push(at)).await?;
                if let Ok(mut all) = records.lock() {
                    all.push(Streamed { id, start, deltas });
                }
                Ok(())
            }
        }
    };
    // Under load, then a lone client (the same path without queueing).
    let lone = load.duration.min(Duration::from_secs(5));
    for (concurrency, window, warmup) in [
        (load.concurrency, load.duration, load.warmup),
        (1, lone, Duration::from_secs(1)),
    ] {
        drive(concurrency, warmup, load.max_requests, op.clone()).await;
        fake.take_served();
        if let Ok(mut all) = records.lock() {
            all.clear();
        }
        let run = drive(concurrency, window, load.max_requests, op.clone()).await;
        run.check("stream")?;
        let served = model_time(fake.take_served());
        let taken = records
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        let (first, per_event) = stream_latencies(&taken, &served)?;
        let clients = if concurrency == 1 {
            "1 client".to_owned()
        } else {
            format!("{concurrency} clients")
        };
        row(
            &format!("POST /api/v1/chat/stream, {}, {clients}", store.label()),
            &rate(run.per_second()),
            &ms(quantile(&run.latencies(), 0.5)),
            &ms(quantile(&run.latencies(), 0.99)),
        );
        row(
            "  request to first delta",
            "",
            &ms(quantile(&first, 0.5)),
            &ms(quantile(&first, 0.99)),
        );
        row(
            &format!(
                "  per event, model chunk to client ({} ms pause)",
                pause.as_millis()
            ),
            &format!("{} events", per_event.len()),
            &ms(quantile(&per_event, 0.5)),
            &ms(quantile(&per_event, 0.99)),
        );
    }
    Ok(())
}

/// Sorted times from request to first delta, and from each model chunk's
/// writing to the client's reading the delta that carries it.
fn stream_latencies(
    records: &[Streamed],
    served: &HashMap<u64, Served>,
) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let mut first = Vec::new();
    let mut per_event = Vec::new();
    for record in records {
        let Some(model) = served.get(&record.id) else {
            continue;
        };
        if let Some(at) = record.deltas.first() {
            first.push(*at - record.start);
        }
        // Delta k carries the model's frame k (the last frame only finishes).
        for (received, written) in record.deltas.iter().zip(&model.frames) {
            per_event.push(received.saturating_duration_since(*written));
        }
    }
    if first.len() < records.len() {
        return Err(format!(
            "{} of {} streams matched a model call with a delta",
            first.len(),
            records.len()
        ));
    }
    Ok((sorted(first), sorted(per_event)))
}

/// `count` streams open at once (the fake pausing `pause` between chunks,
/// so each stays open for about 12 pauses): the server's resident memory
/// while all of them are open.
pub async fn open_streams(
    binary: &Path,
    store: Store,
    count: usize,
    pause: Duration,
) -> Result<(), String> {
    let fake = FakeOpenAi::start(pause).await;
    let env = env_for(&fake);
    let server = Server::start(binary, store, &borrowed(&env)).await?;
    let http = server::client(count)?;
    let token = server::register_and_login(&http, &server.base, "bench_streams").await?;
    let url = format!("{}/api/v1/chat/stream", server.base);
    // Warm the process up with one stream, then read the idle figure.
    let res = open_stream(&http, &url, &token, 0).await?;
    read_sse(res, |_| {}).await?;
    let before = server.rss_kib()?;

    let (opened_tx, mut opened_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(count);
    let mut tasks = Vec::with_capacity(count);
    for id in 1..=count as u64 {
        let (http, url, token, opened) =
            (http.clone(), url.clone(), token.clone(), opened_tx.clone());
        tasks.push(tokio::spawn(async move {
            let res = match open_stream(&http, &url, &token, id).await {
                Ok(res) => res,
                Err(e) => {
                    let _ = opened.send(Err(e)).await;
                    return;
                }
            };
            let mut first = true;
            let outcome = read_sse(res, |_| {
                if std::mem::take(&mut first) {
                    let _ = opened.try_send(Ok(()));
                }
            })
            .await;
            if let Err(e) = outcome {
                let _ = opened.send(Err(e)).await;
            }
        }));
    }
    drop(opened_tx);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut open = 0usize;
    while open < count {
        let next = tokio::time::timeout_at(deadline.into(), opened_rx.recv()).await;
        match next {
            Ok(Some(Ok(()))) => open += 1,
            Ok(Some(Err(e))) => return Err(format!("a stream failed: {e}")),
            Ok(None) => break,
            Err(_) => return Err(format!("only {open} of {count} streams opened in 120 s")),
        }
    }
    let opened_at = Instant::now();
    // All are open and the model is between chunks: sample for a second.
    let mut peak = server.rss_kib()?;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(server.rss_kib()?);
    }
    let still_open = tasks.iter().filter(|t| !t.is_finished()).count();
    eprintln!(
        "{count} streams open ({still_open} still open {} ms later); RSS before {} KiB, peak {} KiB",
        opened_at.elapsed().as_millis(),
        before,
        peak
    );
    for task in &tasks {
        task.abort();
    }
    row(
        &format!("{count} open streams: server RSS, {}", store.label()),
        &format!("{:.1} MiB", peak as f64 / 1024.0),
        "",
        "",
    );
    row(
        "  RSS before opening them",
        &format!("{:.1} MiB", before as f64 / 1024.0),
        "",
        "",
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
