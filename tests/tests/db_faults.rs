//! Database outages under chat load, on the real binary: Postgres behind a
//! proxy that cuts every connection and refuses new ones for a few seconds,
//! and one SQLite file written by two server processes at once. Nothing
//! answers 500, nothing hangs, no answered turn is lost or stored twice,
//! readiness follows the database, and chat works again right after.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agents_e2e::TestServer;
use agents_e2e::chat_client::{ChatClient, Ending, Turn};
use agents_e2e::fake_openai::FakeOpenAi;
use agents_e2e::fault_proxy::{FaultProxy, Outage};
use agents_e2e::postgres::TestDatabase;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// Concurrent chat clients.
const CLIENTS: usize = 16;
/// The server's `DATABASE_ACQUIRE_TIMEOUT` and `DATABASE_HEALTH_TIMEOUT`.
const ACQUIRE: Duration = Duration::from_secs(2);
const HEALTH: Duration = Duration::from_secs(1);
/// The answer's write retries for up to this long after its first failure.
const ANSWER_WRITE_WINDOW: Duration = Duration::from_secs(1);
/// The fake model pauses this long between its ~12 chunks.
const MODEL_PAUSE: Duration = Duration::from_millis(10);

/// Runs `clients` chat loops (even ones plain, odd ones streamed, each in
/// its own conversation, every message unique) until `stop`.
async fn chat_load(clients: Vec<ChatClient>, stop: Arc<AtomicBool>) -> Vec<Vec<Turn>> {
    let loops = clients.into_iter().enumerate().map(|(i, client)| {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut turns = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let turn = client
                    .turn(
                        &format!("load-{i}"),
                        &format!("client {i} turn {n}"),
                        i % 2 == 1,
                    )
                    .await;
                let refused = turn.answer().is_none();
                turns.push(turn);
                n += 1;
                if refused {
                    // A client honouring Retry-After would wait longer; a
                    // short pause keeps the load up through the outage.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            turns
        })
    });
    futures::future::join_all(loops)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("client task: {e}")))
        .collect()
}

/// `/health/ready` every 100 ms until `stop`: (sent at, status, took).
async fn watch_readiness(base: String, stop: Arc<AtomicBool>) -> Vec<(Instant, u16, Duration)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"));
    let mut probes = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let status = http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        probes.push((sent, status, sent.elapsed()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    probes
}

/// Every assistant message text, with how many times it is stored.
async fn stored_answers(db: &DatabaseConnection) -> std::collections::HashMap<String, i64> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT content FROM agent_messages WHERE role = 'assistant'",
        ))
        .await
        .unwrap_or_else(|e| panic!("read answers: {e}"));
    let mut counts = std::collections::HashMap::new();
    for row in rows {
        let content: serde_json::Value = row
            .try_get("", "content")
            .unwrap_or_else(|e| panic!("content: {e}"));
        let text = content["text"].as_str().unwrap_or_default().to_owned();
        *counts.entry(text).or_insert(0) += 1;
    }
    counts
}

fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cut_for_five_seconds_under_chat_load_answers_503_and_heals() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (prefix, rest) = database
        .url
        .split_once('@')
        .unwrap_or_else(|| panic!("unexpected test URL {}", database.url));
    let (host_port, name) = rest.split_once('/').unwrap_or((rest, ""));
    let proxy = FaultProxy::start(host_port).await;
    let via_proxy = format!("{prefix}@127.0.0.1:{}/{name}", proxy.port());
    let fake = FakeOpenAi::start(MODEL_PAUSE).await;
    let server = TestServer::start(&[
        ("DATABASE_URL", via_proxy.as_str()),
        ("AUTO_RUN_MIGRATIONS", "true"),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-faults"),
        ("RATE_LIMIT_CHAT_PER_MINUTE", "0"),
        ("DATABASE_ACQUIRE_TIMEOUT", "2"),
        ("DATABASE_HEALTH_TIMEOUT", "1"),
    ]);
    let user = ChatClient::register(&server.base_url, "faulty").await;

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(chat_load(vec![user; CLIENTS], stop.clone()));
    let readiness = tokio::spawn(watch_readiness(server.base_url.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cut_at = Instant::now();
    proxy.cut(Outage::Refuse);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let healed_at = Instant::now();
    proxy.heal();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::SeqCst);
    let turns: Vec<Turn> = load.await.expect("load").into_iter().flatten().collect();
    let probes = readiness.await.expect("readiness");

    // What happened, for the record.
    let answered = turns.iter().filter(|t| t.answer().is_some()).count();
    let unavailable_plain = turns
        .iter()
        .filter(|t| t.status() == Some(503) && t.error() == Some("service_unavailable"))
        .count();
    let unavailable_in_stream = turns
        .iter()
        .filter(|t| t.status() == Some(200) && t.error() == Some("service_unavailable"))
        .count();
    let slowest = turns.iter().map(|t| t.took).max().unwrap_or_default();
    let first_answer_after_heal = turns
        .iter()
        .filter(|t| t.started >= healed_at && t.answer().is_some())
        .map(|t| t.started + t.took - healed_at)
        .min();
    let ready_again = probes
        .iter()
        .find(|(sent, status, _)| *sent >= healed_at && *status == 200)
        .map(|(sent, _, took)| *sent + *took - healed_at);
    let not_ready_after = probes
        .iter()
        .find(|(sent, status, _)| *sent >= cut_at && *status == 503)
        .map(|(sent, _, took)| *sent + *took - cut_at);
    eprintln!(
        "fault run: {} requests by {CLIENTS} clients; {answered} answered (200), \
         {unavailable_plain} x 503 service_unavailable, {unavailable_in_stream} streams ended \
         with service_unavailable; slowest request {}; readiness 503 {} after the cut, \
         200 {} after the heal; first answered turn {} after the heal; {} readiness probes",
        turns.len(),
        seconds(slowest),
        not_ready_after.map(seconds).unwrap_or_default(),
        ready_again.map(seconds).unwrap_or_default(),
        first_answer_after_heal.map(seconds).unwrap_or_default(),
        probes.len(),
    );

    // Nothing but answers and 503 service_unavailable, and nothing hangs.
    for turn in &turns {
        match &turn.ending {
            Ending::Answered(_) => {}
            Ending::Refused { status, error } => assert!(
                matches!(*status, 200 | 503) && error == "service_unavailable",
                "unexpected refusal {status} {error}"
            ),
            Ending::Broken(why) => panic!("a request broke: {why}"),
        }
    }
    let model_time = MODEL_PAUSE * 15;
    let bound = ACQUIRE + ANSWER_WRITE_WINDOW + model_time + Duration::from_secs(2);
    assert!(
        slowest <= bound,
        "slowest request took {slowest:?}, more than {bound:?}"
    );
    assert!(
        unavailable_plain > 0,
        "the outage was felt: some requests answered 503"
    );
    assert!(
        turns
            .iter()
            .any(|t| t.started < cut_at && t.answer().is_some()),
        "chat worked before the cut"
    );

    // Readiness: 503 within DATABASE_HEALTH_TIMEOUT of the cut (plus one
    // probe interval), 200 as soon as the database is back.
    for (sent, status, took) in &probes {
        assert!(
            *took <= HEALTH + Duration::from_secs(1),
            "a readiness probe took {took:?}"
        );
        // (A probe still waiting for a connection when the database comes
        // back may rightly answer 200.)
        if *sent >= cut_at + HEALTH + Duration::from_millis(300) && *sent + *took < healed_at {
            assert_eq!(*status, 503, "ready while the database is cut");
        }
        if *sent >= healed_at + Duration::from_secs(3) {
            assert_eq!(*status, 200, "not ready 3 s after the database came back");
        }
    }
    assert!(ready_again.is_some_and(|d| d <= Duration::from_secs(3)));

    // Chat works again within a few seconds, and from then on every turn answers.
    let recovered = first_answer_after_heal.expect("an answer after the heal");
    assert!(
        recovered <= Duration::from_secs(4),
        "chat recovered {recovered:?} after the heal"
    );
    let settled = healed_at + Duration::from_secs(4);
    for turn in turns.iter().filter(|t| t.started >= settled) {
        assert!(
            turn.answer().is_some(),
            "a turn after recovery: {:?}",
            turn.ending
        );
    }

    // The operator's view: store errors by class and the pool gauge.
    let metrics = reqwest::get(format!("{}/metrics", server.base_url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let unavailable = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"db_errors_total{class="unavailable"} "#))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or_default();
    eprintln!("db_errors_total{{class=\"unavailable\"}} = {unavailable}");
    assert!(unavailable > 0.0, "outage errors are counted:\n{metrics}");
    assert!(
        !metrics.contains(r#"db_errors_total{class="internal"}"#),
        "no store error was internal"
    );
    assert!(metrics.contains(r#"db_pool_connections{state="in_use"}"#));

    // Every answered turn is stored exactly once; nothing is stored twice.
    let db = Database::connect(database.url.as_str())
        .await
        .expect("direct connection");
    let stored = stored_answers(&db).await;
    for answer in turns.iter().filter_map(Turn::answer) {
        assert_eq!(
            stored.get(answer).copied(),
            Some(1),
            "answer {answer:?} stored once"
        );
    }
    assert!(stored.values().all(|&n| n == 1), "no answer stored twice");
    let _ = db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_writing_one_sqlite_file_never_answer_500() {
    let shared = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        shared.path().join("agents.db").display()
    );
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-busy"),
        ("RATE_LIMIT_CHAT_PER_MINUTE", "0"),
        ("SECRET_KEY", "sqlite-busy-shared-secret-0123456789abcdef"),
    ];
    let a = TestServer::start(&envs);
    let b = TestServer::start(&envs);
    let user = ChatClient::register(&a.base_url, "busy").await;
    let clients: Vec<_> = (0..32)
        .map(|i| {
            if i % 2 == 0 {
                user.clone()
            } else {
                user.on(&b.base_url)
            }
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(chat_load(clients, stop.clone()));
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::SeqCst);
    let turns: Vec<Turn> = load.await.expect("load").into_iter().flatten().collect();
    let answered = turns.iter().filter(|t| t.answer().is_some()).count();
    let slowest = turns.iter().map(|t| t.took).max().unwrap_or_default();
    eprintln!(
        "sqlite busy run: {} turns by 32 clients on two processes, {answered} answered, slowest {}",
        turns.len(),
        seconds(slowest)
    );
    for turn in &turns {
        match &turn.ending {
            Ending::Answered(_) => {}
            Ending::Refused { status, error } => assert!(
                matches!(*status, 200 | 503) && error == "service_unavailable",
                "unexpected refusal {status} {error}"
            ),
            Ending::Broken(why) => panic!("a request broke: {why}"),
        }
    }
    assert!(answered > 100, "the load ran: {answered} answers");
    let db = Database::connect(url.as_str())
        .await
        .expect("open the file");
    let stored = stored_answers(&db).await;
    for answer in turns.iter().filter_map(Turn::answer) {
        assert_eq!(stored.get(answer).copied(), Some(1), "{answer:?}");
    }
    let _ = db.close().await;
}
