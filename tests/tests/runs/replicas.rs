//! Two processes sharing Postgres and Redis: a run started on A is
//! reattached to, watched and cancelled from B.

use std::time::{Duration, Instant};

use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;
use agents_e2e::postgres::{TestDatabase, redis_available};

use crate::client::{Client, ids, text_of};

const REDIS_URL: &str = "redis://127.0.0.1:6379/0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_one_replica_is_reattached_watched_and_cancelled_from_the_other() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    if !redis_available(REDIS_URL) {
        assert!(
            std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"),
            "REQUIRE_REDIS=1 but Redis is unreachable"
        );
        return;
    }
    let fake = FakeOpenAi::start(Duration::from_millis(60)).await;
    let envs = [
        ("DATABASE_URL", database.url.as_str()),
        ("AUTO_RUN_MIGRATIONS", "true"),
        ("REDIS_URL", REDIS_URL),
        ("SECRET_KEY", "runs-shared-secret-0123456789abcdef012345"),
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-runs"),
        ("RATE_LIMIT_CHAT_PER_MINUTE", "0"),
    ];
    let a = TestServer::start(&envs);
    let b = TestServer::start(&envs);
    let name = format!("rep{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let on_a = Client::register(&a.base_url, &name).await;
    let on_b = on_a.on(&b.base_url);

    // Reattach on B after three deltas streamed from A.
    let mut first = on_a.stream("say 15 words", "c-replicas").await;
    let seen = first.until_deltas(3).await;
    drop(first);
    let run_id = seen[0].1["run_id"].as_str().expect("run_id").to_owned();
    let last = seen.last().map(|(id, _)| *id).expect("events");
    let rest = on_b
        .events(&run_id, Some(last), None)
        .await
        .expect("on B")
        .all()
        .await;
    let mut joined = seen.clone();
    joined.extend(rest);
    assert_eq!(ids(&joined), (1..=joined.len() as u64).collect::<Vec<_>>());
    let expected: Vec<String> = (1..=15).map(|i| format!("word{i}")).collect();
    assert_eq!(text_of(&joined).trim(), expected.join(" "));
    assert_eq!(
        joined
            .iter()
            .filter(|(_, e)| e["is_complete"] == true)
            .count(),
        1
    );
    let (_, run) = on_b.get(&format!("/api/v1/chat/runs/{run_id}")).await;
    assert_eq!(run["status"], "completed", "{run}");

    // A second run: streamed on A, watched on B, cancelled from B.
    let mut stream = on_a.stream("say 80 words", "c-cancel").await;
    let seen = stream.until_deltas(3).await;
    let run_id = seen[0].1["run_id"].as_str().expect("run_id").to_owned();
    let watcher = on_b.events(&run_id, None, None).await.expect("watch on B");
    let watching = tokio::spawn(watcher.all());
    let cancelled_at = Instant::now();
    let (status, body) = on_b
        .post(&format!("/api/v1/chat/runs/{run_id}/cancel"))
        .await;
    assert_eq!(status, 202, "{body}");
    let mut original = seen;
    original.extend(stream.all().await);
    let took = cancelled_at.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the stream ended {took:?} after the cancel"
    );
    let watched = watching.await.expect("watcher");
    assert_eq!(watched, original, "both watchers saw the same events");
    let (_, terminal) = original.last().expect("terminal").clone();
    assert_eq!(terminal["type"], "error");
    assert_eq!(terminal["error"], "cancelled");
    let partial = text_of(&original);
    let full: Vec<String> = (1..=80).map(|i| format!("word{i}")).collect();
    let full = full.join(" ");
    assert!(
        partial.len() < full.len() && full.starts_with(partial.trim_end()),
        "{partial:?}"
    );
    let (_, run) = on_b.get(&format!("/api/v1/chat/runs/{run_id}")).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    let (_, detail) = on_a.get("/api/v1/conversations/c-cancel").await;
    assert_eq!(
        detail["messages"][1]["content"],
        partial.as_str(),
        "{detail}"
    );
    assert_eq!(detail["active_run"], serde_json::Value::Null);
}
