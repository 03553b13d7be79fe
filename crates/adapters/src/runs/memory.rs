//! The run bus in process: each run's log is a vector with a watch channel
//! of its last id; followers read the vector after their cursor and wait
//! for the id to move, so nothing is missed or repeated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::RunId;
use agents_domain::run::{CancelSignal, RunBus, RunBusError, RunEventRecord, RunEventStream};
use async_trait::async_trait;
use tokio::sync::watch;
use tokio::time::Instant;

struct Log {
    events: Vec<RunEventRecord>,
    /// Id of the last event appended; followers wait on it.
    last: watch::Sender<u64>,
    cancel: watch::Sender<bool>,
    /// Dropped after this (set when the run ends).
    expires_at: Option<Instant>,
}

impl Log {
    fn new() -> Self {
        Self {
            events: Vec::new(),
            last: watch::channel(0).0,
            cancel: watch::channel(false).0,
            expires_at: None,
        }
    }

    fn ended(&self) -> bool {
        self.events.last().is_some_and(|e| e.terminal)
    }
}

/// Run logs and cancel requests of this process.
#[derive(Clone, Default)]
pub struct InProcessRunBus {
    logs: Arc<Mutex<HashMap<RunId, Log>>>,
}

impl InProcessRunBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn logs(&self) -> MutexGuard<'_, HashMap<RunId, Log>> {
        self.logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs whose log is held (expired ones excluded); for tests and the
    /// memory benchmark.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.logs()
            .values()
            .filter(|log| log.expires_at.is_none_or(|at| at > now))
            .count()
    }

    /// Whether no log is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events after `after`, and whether the terminal one is among the
    /// events held (then nothing follows).
    fn after(&self, run: RunId, after: u64) -> (Vec<RunEventRecord>, bool) {
        let logs = self.logs();
        match logs.get(&run) {
            Some(log) => {
                let start = usize::try_from(after).unwrap_or(usize::MAX);
                let events = log.events.get(start..).unwrap_or_default().to_vec();
                (events, log.ended())
            }
            None => (Vec::new(), false),
        }
    }
}

fn purge(logs: &mut HashMap<RunId, Log>) {
    let now = Instant::now();
    logs.retain(|_, log| log.expires_at.is_none_or(|at| at > now));
}

#[async_trait]
impl RunBus for InProcessRunBus {
    async fn append(&self, run: RunId, events: &[RunEventRecord]) -> Result<(), RunBusError> {
        let mut logs = self.logs();
        let log = logs.entry(run).or_insert_with(Log::new);
        for event in events {
            // Ids are positions: a repeat (a retried append) is skipped.
            if event.id == log.events.len() as u64 + 1 {
                log.events.push(event.clone());
            }
        }
        let last = log.events.len() as u64;
        log.last.send_replace(last);
        Ok(())
    }

    async fn replay(
        &self,
        run: RunId,
        after: u64,
    ) -> Result<Option<Vec<RunEventRecord>>, RunBusError> {
        let mut logs = self.logs();
        purge(&mut logs);
        Ok(logs.get(&run).map(|log| {
            let start = usize::try_from(after).unwrap_or(usize::MAX);
            log.events.get(start..).unwrap_or_default().to_vec()
        }))
    }

    async fn follow(&self, run: RunId, after: u64) -> Result<RunEventStream, RunBusError> {
        let changes = {
            let mut logs = self.logs();
            logs.entry(run).or_insert_with(Log::new).last.subscribe()
        };
        let bus = self.clone();
        let stream = futures::stream::unfold(
            (bus, changes, after, false),
            move |(bus, mut changes, cursor, done)| async move {
                if done {
                    return None;
                }
                loop {
                    // Mark the current id seen before reading, so an append
                    // after the read wakes the wait below.
                    changes.borrow_and_update();
                    let (events, ended) = bus.after(run, cursor);
                    if !events.is_empty() {
                        let next = events.last().map_or(cursor, |e| e.id);
                        let batch = futures::stream::iter(events.into_iter().map(Ok));
                        return Some((batch, (bus, changes, next, ended)));
                    }
                    if ended || changes.changed().await.is_err() {
                        return None;
                    }
                }
            },
        );
        Ok(Box::pin(futures::StreamExt::flatten(stream)))
    }

    async fn ended(&self, run: RunId, retention: Duration) -> Result<(), RunBusError> {
        let mut logs = self.logs();
        purge(&mut logs);
        if let Some(log) = logs.get_mut(&run) {
            log.expires_at = Some(Instant::now() + retention);
        }
        Ok(())
    }

    async fn request_cancel(&self, run: RunId) -> Result<(), RunBusError> {
        if let Some(log) = self.logs().get(&run) {
            log.cancel.send_replace(true);
        }
        Ok(())
    }

    async fn cancel_signal(&self, run: RunId) -> Result<CancelSignal, RunBusError> {
        let mut receiver = self
            .logs()
            .entry(run)
            .or_insert_with(Log::new)
            .cancel
            .subscribe();
        Ok(Box::pin(async move {
            if receiver.wait_for(|cancelled| *cancelled).await.is_err() {
                // The log was dropped: no cancel can come any more.
                std::future::pending::<()>().await;
            }
        }))
    }
}
