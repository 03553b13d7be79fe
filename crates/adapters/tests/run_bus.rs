//! The run bus contract, run against the in-process bus and the Redis one
//! (the real local Redis; skipped with a printed reason when unreachable,
//! unless `REQUIRE_REDIS=1`, which CI sets). Run ids are fresh per test.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::runs::{InProcessRunBus, RedisRunBus};
use agents_domain::RunId;
use agents_domain::run::{RunBus, RunEventRecord};
use futures::StreamExt;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

async fn redis() -> Option<RedisRunBus> {
    match RedisRunBus::connect(&redis_url()).await {
        Ok(bus) => Some(bus),
        Err(err) if std::env::var("REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("REQUIRE_REDIS=1 but Redis is unreachable: {err}")
        }
        Err(err) => {
            eprintln!("skipping Redis run bus test: {err}");
            None
        }
    }
}

fn event(id: u64) -> RunEventRecord {
    RunEventRecord {
        id,
        data: format!(r#"{{"type":"delta","event_id":{id},"chunk":"w{id} "}}"#),
        terminal: false,
    }
}

fn terminal(id: u64) -> RunEventRecord {
    RunEventRecord {
        id,
        data: format!(r#"{{"type":"done","event_id":{id}}}"#),
        terminal: true,
    }
}

fn ids(events: &[RunEventRecord]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

async fn collect(bus: &dyn RunBus, run: RunId, after: u64) -> Vec<RunEventRecord> {
    let stream = bus.follow(run, after).await.expect("follow");
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.map(|e| e.expect("event")).collect(),
    )
    .await
    .expect("the follow ends after the terminal event")
}

macro_rules! on_every_bus {
    ($($scenario:ident),+ $(,)?) => {
        mod in_process {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    scenarios::$scenario(Arc::new(InProcessRunBus::new()), Arc::new(InProcessRunBus::new()), false).await
                }
            )+
        }
        mod redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    // Two connections stand for two replicas sharing Redis.
                    let (Some(a), Some(b)) = (redis().await, redis().await) else { return };
                    scenarios::$scenario(Arc::new(a), Arc::new(b), true).await
                }
            )+
        }
    };
}

mod scenarios {
    use super::*;

    /// `other` is a second replica when `shared` (Redis); else unused.
    pub async fn replay_returns_the_events_after_an_id(
        bus: Arc<dyn RunBus>,
        other: Arc<dyn RunBus>,
        shared: bool,
    ) {
        let run = RunId::new();
        assert_eq!(
            bus.replay(run, 0).await.expect("replay"),
            None,
            "unknown run"
        );
        bus.append(run, &[event(1), event(2)])
            .await
            .expect("append");
        bus.append(run, &[event(3), terminal(4)])
            .await
            .expect("append");
        let all = bus.replay(run, 0).await.expect("replay").expect("known");
        assert_eq!(all, vec![event(1), event(2), event(3), terminal(4)]);
        let reader = if shared { &other } else { &bus };
        let tail = reader.replay(run, 2).await.expect("replay").expect("known");
        assert_eq!(ids(&tail), vec![3, 4]);
        assert!(tail[1].terminal);
        assert_eq!(bus.replay(run, 4).await.expect("replay"), Some(vec![]));
    }

    pub async fn a_follower_gets_stored_then_live_events_without_gap_or_repeat(
        bus: Arc<dyn RunBus>,
        other: Arc<dyn RunBus>,
        shared: bool,
    ) {
        let run = RunId::new();
        bus.append(run, &[event(1), event(2), event(3)])
            .await
            .expect("append");
        let reader = if shared { other.clone() } else { bus.clone() };
        let follower = tokio::spawn(async move { collect(reader.as_ref(), run, 1).await });
        // Appends race the follower's switch from stored to live events.
        for id in 4..=40 {
            bus.append(run, &[event(id)]).await.expect("append");
            if id % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        bus.append(run, &[terminal(41)]).await.expect("append");
        let seen = follower.await.expect("join");
        assert_eq!(ids(&seen), (2..=41).collect::<Vec<_>>());
        assert!(seen.last().expect("last").terminal);
    }

    pub async fn two_followers_see_the_same_events(
        bus: Arc<dyn RunBus>,
        other: Arc<dyn RunBus>,
        _shared: bool,
    ) {
        let run = RunId::new();
        let first = {
            let bus = bus.clone();
            tokio::spawn(async move { collect(bus.as_ref(), run, 0).await })
        };
        let second = {
            let other = if _shared { other.clone() } else { bus.clone() };
            tokio::spawn(async move { collect(other.as_ref(), run, 0).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        for id in 1..=10 {
            bus.append(run, &[event(id)]).await.expect("append");
        }
        bus.append(run, &[terminal(11)]).await.expect("append");
        let (first, second) = (first.await.expect("join"), second.await.expect("join"));
        assert_eq!(ids(&first), (1..=11).collect::<Vec<_>>());
        assert_eq!(first, second);
    }

    pub async fn following_an_ended_run_replays_and_closes(
        bus: Arc<dyn RunBus>,
        _other: Arc<dyn RunBus>,
        _shared: bool,
    ) {
        let run = RunId::new();
        bus.append(run, &[event(1), event(2), terminal(3)])
            .await
            .expect("append");
        bus.ended(run, Duration::from_secs(60))
            .await
            .expect("ended");
        assert_eq!(ids(&collect(bus.as_ref(), run, 0).await), vec![1, 2, 3]);
        assert_eq!(ids(&collect(bus.as_ref(), run, 2).await), vec![3]);
    }

    pub async fn an_ended_log_expires_after_the_retention(
        bus: Arc<dyn RunBus>,
        _other: Arc<dyn RunBus>,
        _shared: bool,
    ) {
        let run = RunId::new();
        bus.append(run, &[event(1), terminal(2)])
            .await
            .expect("append");
        bus.ended(run, Duration::from_secs(1)).await.expect("ended");
        assert!(bus.replay(run, 0).await.expect("replay").is_some());
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(bus.replay(run, 0).await.expect("replay"), None);
    }

    pub async fn a_cancel_reaches_the_owner(
        bus: Arc<dyn RunBus>,
        other: Arc<dyn RunBus>,
        shared: bool,
    ) {
        let run = RunId::new();
        let signal = bus.cancel_signal(run).await.expect("signal");
        let unrelated = bus.cancel_signal(RunId::new()).await.expect("signal");
        let requester = if shared { &other } else { &bus };
        requester.request_cancel(run).await.expect("cancel");
        tokio::time::timeout(Duration::from_secs(1), signal)
            .await
            .expect("the owner sees the cancel within a second");
        assert!(
            tokio::time::timeout(Duration::from_millis(200), unrelated)
                .await
                .is_err(),
            "another run is not cancelled"
        );
    }

    pub async fn a_cancel_requested_before_the_signal_is_taken_still_counts(
        bus: Arc<dyn RunBus>,
        other: Arc<dyn RunBus>,
        shared: bool,
    ) {
        let run = RunId::new();
        // The in-process bus knows a run once it has a log or a signal.
        bus.append(run, &[event(1)]).await.expect("append");
        let requester = if shared { &other } else { &bus };
        requester.request_cancel(run).await.expect("cancel");
        let signal = bus.cancel_signal(run).await.expect("signal");
        tokio::time::timeout(Duration::from_secs(1), signal)
            .await
            .expect("cancelled");
    }
}

on_every_bus!(
    replay_returns_the_events_after_an_id,
    a_follower_gets_stored_then_live_events_without_gap_or_repeat,
    two_followers_see_the_same_events,
    following_an_ended_run_replays_and_closes,
    an_ended_log_expires_after_the_retention,
    a_cancel_reaches_the_owner,
    a_cancel_requested_before_the_signal_is_taken_still_counts,
);
