//! Streaming load: time to first token and its spread over many streams,
//! and how many streams one server holds open.

use super::*;

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
