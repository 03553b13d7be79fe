//! Runs: the cost of logging every stream event, and of a watcher that
//! reattached to the run (`GET /chat/runs/{id}/events` after the first
//! event) reading the same events, on SQLite or Postgres, in process or
//! through Redis.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agents_e2e::fake_openai::FakeOpenAi;
use serde_json::Value;

use crate::http::streams::open_stream;
use crate::http::{Load, borrowed, env_for, model_time};
use crate::server::{self, Server, Store};
use crate::stats::{drive, ms, quantile, rate, row, sorted};

/// One run as the clients saw it.
struct Seen {
    id: u64,
    start: Instant,
    /// Arrival of each delta on the stream that started the run.
    deltas: Vec<Instant>,
    /// Arrival of each delta on the watcher, and how many deltas the
    /// stream had before the watcher attached.
    watched: Option<(usize, Vec<Instant>)>,
}

/// Reads SSE frames, calling `on_event(event, arrival)`; ends after the
/// terminal event.
async fn read_events(
    mut res: reqwest::Response,
    mut on_event: impl FnMut(&Value, Instant),
) -> Result<(), String> {
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        let arrived = Instant::now();
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            let frame = String::from_utf8_lossy(&frame);
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let event: Value = serde_json::from_str(data).map_err(|e| format!("{e}: {data}"))?;
            on_event(&event, arrived);
            match event["type"].as_str() {
                Some("done") => return Ok(()),
                Some("error") => return Err(format!("error event: {event}")),
                _ => {}
            }
        }
    }
    Err("stream ended without a terminal event".into())
}

async fn watch(
    http: reqwest::Client,
    url: String,
    token: String,
    after: u64,
) -> Result<Vec<Instant>, String> {
    let res = http
        .get(url)
        .bearer_auth(token)
        .header("Last-Event-ID", after.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status() != 200 {
        return Err(format!("watcher got {}", res.status()));
    }
    let mut deltas = Vec::new();
    read_events(res, |event, at| {
        if event["type"] == "delta" {
            deltas.push(at);
        }
    })
    .await?;
    Ok(deltas)
}

/// Streams under `load`, each with a reattached watcher when `watcher`.
pub async fn runs(
    binary: &Path,
    store: Store,
    redis: Option<&str>,
    load: Load,
    pause: Duration,
    watcher: bool,
) -> Result<(), String> {
    let fake = FakeOpenAi::start(pause).await;
    let env = env_for(&fake);
    let mut env = borrowed(&env);
    if let Some(url) = redis {
        env.push(("REDIS_URL", url));
    }
    let server = Server::start(binary, store, &env).await?;
    let http = server::client(load.concurrency * 2)?;
    let token = server::register_and_login(&http, &server.base, "bench_runs").await?;
    let url = format!("{}/api/v1/chat/stream", server.base);
    let base = server.base.clone();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let op = {
        let seen = seen.clone();
        move |_, id| {
            let (http, url, token, seen, base) = (
                http.clone(),
                url.clone(),
                token.clone(),
                seen.clone(),
                base.clone(),
            );
            async move {
                let start = Instant::now();
                let res = open_stream(&http, &url, &token, id).await?;
                let mut deltas = Vec::new();
                let mut attached = None;
                read_events(res, |event, at| {
                    if event["type"] == "delta" {
                        deltas.push(at);
                    }
                    if watcher && attached.is_none() {
                        let run = event["run_id"].as_str().unwrap_or_default();
                        let after = event["event_id"].as_u64().unwrap_or(0);
                        let events = format!("{base}/api/v1/chat/runs/{run}/events");
                        let task = tokio::spawn(watch(http.clone(), events, token.clone(), after));
                        attached = Some((deltas.len(), task));
                    }
                })
                .await?;
                let watched = match attached {
                    Some((before, task)) => Some((before, task.await.map_err(|e| e.to_string())??)),
                    None => None,
                };
                if let Ok(mut all) = seen.lock() {
                    all.push(Seen {
                        id,
                        start,
                        deltas,
                        watched,
                    });
                }
                Ok(())
            }
        }
    };
    drive(load.concurrency, load.warmup, load.max_requests, op.clone()).await;
    fake.take_served();
    if let Ok(mut all) = seen.lock() {
        all.clear();
    }
    let run = drive(load.concurrency, load.duration, load.max_requests, op).await;
    run.check("runs")?;
    let served = model_time(fake.take_served());
    let taken = seen
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    let (mut first, mut per_event, mut per_watched) = (Vec::new(), Vec::new(), Vec::new());
    for record in &taken {
        let Some(model) = served.get(&record.id) else {
            continue;
        };
        if let Some(at) = record.deltas.first() {
            first.push(*at - record.start);
        }
        for (received, written) in record.deltas.iter().zip(&model.frames) {
            per_event.push(received.saturating_duration_since(*written));
        }
        if let Some((before, watched)) = &record.watched {
            for (received, written) in watched.iter().zip(model.frames.iter().skip(*before)) {
                per_watched.push(received.saturating_duration_since(*written));
            }
        }
    }
    let (first, per_event, per_watched) = (sorted(first), sorted(per_event), sorted(per_watched));
    let bus = if redis.is_some() {
        "+ Redis"
    } else {
        "in-process bus"
    };
    let with = if watcher {
        "a watcher each"
    } else {
        "no watcher"
    };
    row(
        &format!(
            "runs: stream, {} {bus}, {} clients, {with}",
            store.label(),
            load.concurrency
        ),
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
        &format!("  per event to the stream ({} ms pause)", pause.as_millis()),
        &format!("{} events", per_event.len()),
        &ms(quantile(&per_event, 0.5)),
        &ms(quantile(&per_event, 0.99)),
    );
    if watcher {
        row(
            "  per event to the reattached watcher",
            &format!("{} events", per_watched.len()),
            &ms(quantile(&per_watched, 0.5)),
            &ms(quantile(&per_watched, 0.99)),
        );
    }
    Ok(())
}
