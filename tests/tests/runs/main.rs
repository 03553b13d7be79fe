//! Runs through the real binary: reattach after a dropped stream (on the
//! same process and on a second one sharing Postgres and Redis), cancel
//! from the other replica, SIGTERM with a short grace, `kill -9` and a
//! restart within the lease.

mod client;
mod lifecycle;
mod replicas;

use std::time::Duration;

use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;
use client::{Client, ids, text_of};

#[tokio::test]
async fn a_stream_dropped_after_three_deltas_is_reattached_with_last_event_id() {
    let fake = FakeOpenAi::start(Duration::from_millis(30)).await;
    let server = TestServer::start(&[
        ("OPENAI_BASE_URL", fake.base_url.as_str()),
        ("OPENAI_API_KEY", "sk-runs"),
    ]);
    let alice = Client::register(&server.base_url, "alice").await;
    let mut first = alice.stream("say 20 words", "c-reattach").await;
    let seen = first.until_deltas(3).await;
    drop(first);
    let last = seen.last().map(|(id, _)| *id).expect("events");
    let run_id = seen[0].1["run_id"].as_str().expect("run_id").to_owned();

    let rest = alice
        .events(&run_id, Some(last), None)
        .await
        .expect("reattached")
        .all()
        .await;
    let mut joined = seen.clone();
    joined.extend(rest.iter().cloned());
    assert_eq!(
        ids(&joined),
        (1..=joined.len() as u64).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let expected: Vec<String> = (1..=20).map(|i| format!("word{i}")).collect();
    assert_eq!(
        text_of(&joined).trim(),
        expected.join(" "),
        "the deltas joined are the whole answer"
    );
    let terminals: Vec<_> = joined
        .iter()
        .filter(|(_, e)| e["is_complete"] == true)
        .collect();
    assert_eq!(terminals.len(), 1);
    assert_eq!(terminals[0].1["type"], "done");

    // The ended run replays event for event what the stream sent.
    let replay = alice
        .events(&run_id, None, None)
        .await
        .expect("replay")
        .all()
        .await;
    assert_eq!(replay, joined);
}
