//! The run bus on Redis, shared by replicas: one stream per run
//! (`agents:run:{id}:events`, entry id `N-0` for event `N`), capped and
//! expiring; cancel requests as a key plus a message on one channel that
//! every process listens to, so the owner hears it at once and a process
//! that missed the message (reconnecting) still finds the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::RunId;
use agents_domain::run::{CancelSignal, RunBus, RunBusError, RunEventRecord, RunEventStream};
use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncCommands, RedisError};
use tokio::sync::watch;

/// The channel cancel requests are published on.
const CANCEL_CHANNEL: &str = "agents:runs:cancel";
/// Most events kept per run (a longer run keeps its newest ones).
const MAX_EVENTS: usize = 100_000;
/// Expiry of a running run's log, pushed forward at each append: a log
/// whose owner died goes away on its own.
const RUNNING_TTL: Duration = Duration::from_secs(24 * 3600);
/// A command gives up after this long.
const DEADLINE: Duration = Duration::from_secs(2);
/// How long a follower's blocking read waits before reading again.
const BLOCK_MS: u64 = 1_000;

fn events_key(run: RunId) -> String {
    format!("agents:run:{run}:events")
}

fn cancel_key(run: RunId) -> String {
    format!("agents:run:{run}:cancel")
}

/// The error class without the URL (which may hold a password).
fn kind(error: &RedisError) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else {
        format!("{:?}", error.kind())
    }
}

fn unavailable(error: RedisError) -> RunBusError {
    RunBusError::Unavailable(kind(&error))
}

async fn bounded<T>(work: impl Future<Output = Result<T, RedisError>>) -> Result<T, RunBusError> {
    match tokio::time::timeout(DEADLINE, work).await {
        Ok(result) => result.map_err(unavailable),
        Err(_) => Err(RunBusError::Unavailable("redis timed out".into())),
    }
}

/// Stream entries as XRANGE/XREAD give them: id and `field, value` pairs.
type Entries = Vec<(String, Vec<String>)>;

fn decode(entries: Entries) -> Vec<RunEventRecord> {
    entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let number = id.split_once('-').map_or(id.as_str(), |(n, _)| n);
            let id = number.parse().ok()?;
            let mut data = None;
            let mut terminal = false;
            for pair in fields.chunks(2) {
                match pair {
                    [name, value] if name == "d" => data = Some(value.clone()),
                    [name, value] if name == "t" => terminal = value == "1",
                    _ => {}
                }
            }
            Some(RunEventRecord {
                id,
                data: data?,
                terminal,
            })
        })
        .collect()
}

type Waiters = Arc<Mutex<HashMap<RunId, watch::Sender<bool>>>>;

fn waiters(map: &Waiters) -> MutexGuard<'_, HashMap<RunId, watch::Sender<bool>>> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Run logs and cancel requests in Redis.
#[derive(Clone)]
pub struct RedisRunBus {
    client: redis::Client,
    connection: ConnectionManager,
    /// This process's runs waiting for a cancel.
    waiters: Waiters,
}

impl RedisRunBus {
    /// Connects (a wrong URL or an unreachable Redis fails here) and starts
    /// listening for cancel requests.
    pub async fn connect(url: &str) -> Result<Self, RunBusError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEADLINE))
            .set_response_timeout(Some(DEADLINE))
            .set_number_of_retries(1);
        let connection = bounded(client.get_connection_manager_with_config(config)).await?;
        let bus = Self {
            client,
            connection,
            waiters: Arc::default(),
        };
        tokio::spawn(listen_for_cancels(bus.clone()));
        Ok(bus)
    }

    /// Whether a cancel of `run` was recorded.
    async fn cancel_recorded(&self, run: RunId) -> Result<bool, RunBusError> {
        let mut connection = self.connection.clone();
        bounded(connection.exists(cancel_key(run))).await
    }

    /// Wakes the local waiters of runs whose cancel key exists (after a
    /// reconnect, messages sent meanwhile are lost; the keys are not).
    async fn sweep(&self) {
        let runs: Vec<RunId> = waiters(&self.waiters).keys().copied().collect();
        for run in runs {
            if let Ok(true) = self.cancel_recorded(run).await {
                wake(&self.waiters, run);
            }
        }
    }
}

fn wake(map: &Waiters, run: RunId) {
    if let Some(sender) = waiters(map).get(&run) {
        sender.send_replace(true);
    }
}

/// Listens on the cancel channel for the life of the process, reconnecting
/// after errors.
async fn listen_for_cancels(bus: RedisRunBus) {
    loop {
        match bus.client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(error) = pubsub.subscribe(CANCEL_CHANNEL).await {
                    tracing::warn!(error = %kind(&error), "run cancel channel: subscribe failed");
                } else {
                    bus.sweep().await;
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(text) = message.get_payload::<String>() else {
                            continue;
                        };
                        if let Ok(id) = uuid::Uuid::parse_str(&text) {
                            wake(&bus.waiters, RunId::from_uuid(id));
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %kind(&error), "run cancel channel: cannot connect");
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn read_after(
    connection: &mut MultiplexedConnection,
    run: RunId,
    cursor: u64,
) -> Result<Option<Entries>, RedisError> {
    let reply: Option<Vec<(String, Entries)>> = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(1024)
        .arg("BLOCK")
        .arg(BLOCK_MS)
        .arg("STREAMS")
        .arg(events_key(run))
        .arg(format!("{cursor}-0"))
        .query_async(connection)
        .await?;
    Ok(reply.map(|streams| streams.into_iter().flat_map(|(_, e)| e).collect()))
}

#[async_trait]
impl RunBus for RedisRunBus {
    async fn append(&self, run: RunId, events: &[RunEventRecord]) -> Result<(), RunBusError> {
        if events.is_empty() {
            return Ok(());
        }
        let key = events_key(run);
        let mut pipe = redis::pipe();
        for event in events {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_EVENTS)
                .arg(format!("{}-0", event.id))
                .arg("d")
                .arg(&event.data)
                .arg("t")
                .arg(if event.terminal { "1" } else { "0" })
                .ignore();
        }
        pipe.cmd("EXPIRE")
            .arg(&key)
            .arg(RUNNING_TTL.as_secs())
            .ignore();
        let mut connection = self.connection.clone();
        bounded(pipe.query_async::<()>(&mut connection)).await
    }

    async fn replay(
        &self,
        run: RunId,
        after: u64,
    ) -> Result<Option<Vec<RunEventRecord>>, RunBusError> {
        let mut connection = self.connection.clone();
        let key = events_key(run);
        let (exists, entries): (bool, Entries) = bounded(
            redis::pipe()
                .exists(&key)
                .cmd("XRANGE")
                .arg(&key)
                .arg(format!("{}-0", after.saturating_add(1)))
                .arg("+")
                .query_async(&mut connection),
        )
        .await?;
        Ok(exists.then(|| decode(entries)))
    }

    async fn follow(&self, run: RunId, after: u64) -> Result<RunEventStream, RunBusError> {
        // A blocking read holds its connection: each follower has its own.
        let connection = bounded(self.client.get_multiplexed_async_connection()).await?;
        let stream = futures::stream::unfold(
            (connection, after, false),
            move |(mut connection, cursor, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let read = tokio::time::timeout(
                        DEADLINE + Duration::from_millis(BLOCK_MS),
                        read_after(&mut connection, run, cursor),
                    )
                    .await;
                    let entries = match read {
                        Ok(Ok(Some(entries))) => entries,
                        Ok(Ok(None)) => continue,
                        Ok(Err(error)) => {
                            let failed = futures::stream::iter(vec![Err(unavailable(error))]);
                            return Some((failed, (connection, cursor, true)));
                        }
                        Err(_) => {
                            let failed = futures::stream::iter(vec![Err(
                                RunBusError::Unavailable("redis timed out".into()),
                            )]);
                            return Some((failed, (connection, cursor, true)));
                        }
                    };
                    let events = decode(entries);
                    let Some(last) = events.last() else {
                        continue;
                    };
                    let next = last.id;
                    let ended = last.terminal;
                    let batch =
                        futures::stream::iter(events.into_iter().map(Ok).collect::<Vec<_>>());
                    return Some((batch, (connection, next, ended)));
                }
            },
        );
        Ok(Box::pin(stream.flatten()))
    }

    async fn ended(&self, run: RunId, retention: Duration) -> Result<(), RunBusError> {
        let mut connection = self.connection.clone();
        let seconds = i64::try_from(retention.as_secs().max(1)).unwrap_or(i64::MAX);
        bounded(connection.expire::<_, ()>(events_key(run), seconds)).await
    }

    async fn request_cancel(&self, run: RunId) -> Result<(), RunBusError> {
        let mut connection = self.connection.clone();
        bounded(
            redis::pipe()
                .cmd("SET")
                .arg(cancel_key(run))
                .arg(1)
                .arg("EX")
                .arg(RUNNING_TTL.as_secs())
                .ignore()
                .cmd("PUBLISH")
                .arg(CANCEL_CHANNEL)
                .arg(run.to_string())
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await
    }

    async fn cancel_signal(&self, run: RunId) -> Result<CancelSignal, RunBusError> {
        let mut receiver = waiters(&self.waiters)
            .entry(run)
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        let registration = Registration {
            waiters: self.waiters.clone(),
            run,
        };
        if self.cancel_recorded(run).await.unwrap_or(false) {
            wake(&self.waiters, run);
        }
        Ok(Box::pin(async move {
            let _registration = registration;
            if receiver.wait_for(|cancelled| *cancelled).await.is_err() {
                std::future::pending::<()>().await;
            }
        }))
    }
}

/// Removes a run's waiter when its signal is dropped (the run ended).
struct Registration {
    waiters: Waiters,
    run: RunId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        waiters(&self.waiters).remove(&self.run);
    }
}
