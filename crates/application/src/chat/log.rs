//! A turn's events as they leave the run: numbered (the ids the client
//! sees), handed to the request that started the turn at once, and
//! appended to the run's log by a task of their own so a slow log never
//! slows the stream. The terminal event is written last: the run's row is
//! final before anyone can see it.

use std::sync::{Mutex, MutexGuard};

use agents_domain::run::{RunEventRecord, RunOutcome, RunStatus};
use agents_domain::{RunId, TenantId};
use time::OffsetDateTime;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::ChatEvent;
use crate::runs::{EventFrame, RunTracking};

/// Longest the terminal event waits for the run's row to be final.
const FINISH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Most events appended to the log in one call.
const BATCH: usize = 256;

/// An event of a run with its id and the agent answering as of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event's id in the run (1, 2, 3...).
    pub id: u64,
    /// The agent answering as of this event.
    pub agent: String,
    /// The event.
    pub event: ChatEvent,
}

struct State {
    next_id: u64,
    agent: String,
}

/// The numbering and logging of one run's events.
pub(super) struct EventLog {
    run_id: RunId,
    tenant: TenantId,
    conversation_id: String,
    state: Mutex<State>,
    local: UnboundedSender<LoggedEvent>,
    tracking: Option<RunTracking>,
    appender: Option<(UnboundedSender<RunEventRecord>, oneshot::Receiver<()>)>,
}

impl EventLog {
    pub(super) fn new(
        run_id: RunId,
        tenant: TenantId,
        conversation_id: String,
        agent: String,
        local: UnboundedSender<LoggedEvent>,
        tracking: Option<RunTracking>,
    ) -> Self {
        let appender = tracking.as_ref().map(|tracking| {
            let (sender, receiver) = unbounded_channel();
            let (done, finished) = oneshot::channel();
            tracking.spawn(append_all(tracking.clone(), run_id, receiver, done));
            (sender, finished)
        });
        Self {
            run_id,
            tenant,
            conversation_id,
            state: Mutex::new(State { next_id: 1, agent }),
            local,
            tracking,
            appender,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The agent answering now.
    pub(super) fn agent(&self) -> String {
        self.state().agent.clone()
    }

    /// Numbers `event`; returns it with its wire form when logging.
    fn number(&self, event: ChatEvent) -> (LoggedEvent, Option<String>) {
        let mut state = self.state();
        match &event {
            ChatEvent::Handoff { to, .. } => state.agent.clone_from(to),
            ChatEvent::Done(reply) => state.agent.clone_from(&reply.agent_used),
            _ => {}
        }
        let id = state.next_id;
        state.next_id += 1;
        let data = self.tracking.as_ref().map(|tracking| {
            tracking.encoder.encode(EventFrame {
                run_id: self.run_id,
                event_id: id,
                conversation_id: &self.conversation_id,
                agent: &state.agent,
                event: &event,
            })
        });
        let logged = LoggedEvent {
            id,
            agent: state.agent.clone(),
            event,
        };
        (logged, data)
    }

    /// Sends a non-terminal event and queues it for the log.
    pub(super) fn push(&self, event: ChatEvent) {
        let (logged, data) = self.number(event);
        if let (Some(data), Some((appender, _))) = (data, &self.appender) {
            let _ = appender.send(RunEventRecord {
                id: logged.id,
                data,
                terminal: false,
            });
        }
        // A client that went away just stops receiving.
        let _ = self.local.send(logged);
    }

    /// Ends the run: waits for the queued events to be logged, stores the
    /// outcome on the run's row, logs the terminal event and only then
    /// sends it.
    pub(super) async fn finish(
        mut self,
        terminal: ChatEvent,
        status: RunStatus,
        finished_at: OffsetDateTime,
    ) {
        if let Some((appender, task)) = self.appender.take() {
            drop(appender);
            let _ = task.await;
        }
        let error = match &terminal {
            ChatEvent::Error(error) => self
                .tracking
                .as_ref()
                .map(|tracking| tracking.encoder.error_code(error)),
            _ => None,
        };
        let (logged, data) = self.number(terminal);
        if let (Some(tracking), Some(data)) = (&self.tracking, data) {
            let outcome = RunOutcome {
                status,
                agent_used: logged.agent.clone(),
                last_event_id: logged.id,
                error,
                finished_at,
            };
            // The row is final before the terminal event is seen, unless the
            // database is slow: then the write goes on in the background and
            // the client is not kept waiting for it.
            let (store, tenant, run_id) = (tracking.store.clone(), self.tenant, self.run_id);
            let mut write = tokio::spawn(async move {
                if let Err(error) = store.finish(tenant, run_id, outcome).await {
                    tracing::warn!(%run_id, %error, "storing the run's end failed; its lease will lapse");
                }
            });
            if tokio::time::timeout(FINISH_WAIT, &mut write).await.is_err() {
                tracing::warn!(%run_id, "storing the run's end is slow; ending its streams meanwhile");
            }
            let record = RunEventRecord {
                id: logged.id,
                data,
                terminal: true,
            };
            if let Err(error) = tracking.bus.append(self.run_id, &[record]).await {
                tracing::warn!(run_id = %self.run_id, %error, "logging the run's terminal event failed");
            }
            if let Err(error) = tracking
                .bus
                .ended(self.run_id, tracking.settings.retention)
                .await
            {
                tracing::warn!(run_id = %self.run_id, %error, "setting the run log's expiry failed");
            }
        }
        let _ = self.local.send(logged);
    }
}

/// Appends queued events in order, in batches of what has accumulated.
async fn append_all(
    tracking: RunTracking,
    run: RunId,
    mut queue: UnboundedReceiver<RunEventRecord>,
    done: oneshot::Sender<()>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(error) = tracking.bus.append(run, &batch).await {
            // The live stream is unaffected; a reattach may miss these.
            tracing::warn!(run_id = %run, %error, events = batch.len(), "logging run events failed");
        }
        batch.clear();
    }
    let _ = done.send(());
}
