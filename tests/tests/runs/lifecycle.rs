//! A process ending under its runs: SIGTERM with a short grace interrupts
//! them cleanly; `kill -9` leaves them to lapse with the lease.

use std::process::Command;
use std::time::{Duration, Instant};

use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;

use crate::client::{Client, text_of};

fn envs<'a>(fake: &'a FakeOpenAi, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut envs = vec![
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-runs"),
        // The SQLite file in the data directory outlives the process.
        ("USE_IN_MEMORY_REPO", "false"),
    ];
    envs.extend_from_slice(extra);
    envs
}

/// Takes the data directory out of a stopped server, for a restart.
fn keep_data(server: &mut TestServer) -> tempfile::TempDir {
    std::mem::replace(&mut server.data_dir, tempfile::tempdir().expect("tempdir"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_one_second_grace_interrupts_the_run_and_gives_its_unit_back() {
    let fake = FakeOpenAi::start(Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("agents.toml"),
        "[plans.starter.features.messages]\nhard_limit = 100\n",
    )
    .expect("config");
    let envs = envs(
        &fake,
        &[("ENABLE_BILLING", "true"), ("SHUTDOWN_GRACE_SECONDS", "1")],
    );
    let mut server = TestServer::start_in(dir, &envs);
    let alice = Client::register(&server.base_url, "alice").await;
    // One answered turn counts one unit.
    let mut answered = alice.stream("say 2 words", "c-term").await;
    let done = answered.until_deltas(2).await;
    assert!(!done.is_empty());
    let _ = answered.all().await;
    let mut stream = alice.stream("say 100 words", "c-term").await;
    let mut seen = stream.until_deltas(3).await;
    let run_id = seen[0].1["run_id"].as_str().expect("run_id").to_owned();
    let usage = format!("/api/v1/billing/tenants/{}/usage", alice.tenant);
    let messages = |usage: &serde_json::Value| {
        usage["features"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["feature_key"] == "messages")
            .map(|f| f["quantity"].clone())
    };
    let (_, before) = alice.get(&usage).await;
    assert_eq!(messages(&before), Some(1.into()), "{before}");

    let reading = tokio::spawn(async move { stream.all().await });
    let stopping = tokio::task::spawn_blocking(move || {
        let status = server.terminate(Duration::from_secs(20));
        (status, server)
    });
    seen.extend(reading.await.expect("stream"));
    let (status, mut server) = stopping.await.expect("terminate");
    assert!(status.success(), "exit status {status:?}");
    let (_, terminal) = seen.last().expect("terminal").clone();
    assert_eq!(terminal["type"], "error", "{terminal}");
    assert_eq!(terminal["error"], "interrupted", "{terminal}");
    assert_eq!(
        seen.iter()
            .filter(|(_, e)| e["is_complete"] == true)
            .count(),
        1
    );
    let partial = text_of(&seen);

    let restarted = TestServer::start_in(keep_data(&mut server), &envs);
    let alice = alice.on(&restarted.base_url);
    let (_, run) = alice.get(&format!("/api/v1/chat/runs/{run_id}")).await;
    assert_eq!(run["status"], "interrupted", "{run}");
    let (_, after) = alice.get(&usage).await;
    assert_eq!(
        messages(&after),
        Some(1.into()),
        "the interrupted turn's unit is given back: {after}"
    );
    let (_, detail) = alice.get("/api/v1/conversations/c-term").await;
    assert_eq!(
        detail["messages"][3]["content"],
        partial.as_str(),
        "the partial answer is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_and_a_restart_the_run_reads_interrupted_within_the_lease() {
    let fake = FakeOpenAi::start(Duration::from_millis(100)).await;
    let envs = envs(&fake, &[("RUN_LEASE_SECONDS", "2")]);
    let mut server = TestServer::start(&envs);
    let alice = Client::register(&server.base_url, "alice").await;
    let mut stream = alice.stream("say 100 words", "c-kill").await;
    let seen = stream.until_deltas(2).await;
    let run_id = seen[0].1["run_id"].as_str().expect("run_id").to_owned();
    let killed = Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let killed_at = Instant::now();
    drop(stream);
    std::thread::sleep(Duration::from_millis(200));

    let restarted = TestServer::start_in(keep_data(&mut server), &envs);
    let alice = alice.on(&restarted.base_url);
    let path = format!("/api/v1/chat/runs/{run_id}");
    let status = loop {
        let (_, run) = alice.get(&path).await;
        if run["status"] != "running" || killed_at.elapsed() > Duration::from_secs(10) {
            break run["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "interrupted");
    assert!(
        killed_at.elapsed() < Duration::from_secs(6),
        "{:?}",
        killed_at.elapsed()
    );
    let (_, detail) = alice.get("/api/v1/conversations/c-kill").await;
    assert_eq!(detail["active_run"], serde_json::Value::Null, "{detail}");
}
