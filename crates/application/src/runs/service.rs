//! The run routes' use cases: read a run, follow its events, cancel it,
//! and name a conversation's active run. A run is visible when its
//! conversation is visible to the caller; owners and admins may also
//! cancel any run of their tenant.

use std::time::Duration;

use agents_domain::clock::Clock;
use agents_domain::conversation::{ConversationKey, ConversationScope, ConversationStore};
use agents_domain::run::{Run, RunBusError, RunEventRecord, RunEventStream, RunStatus};
use agents_domain::{RunId, StoreError};
use futures::StreamExt;
use std::sync::Arc;
use time::OffsetDateTime;

use super::{EventFrame, RunTracking};
use crate::chat::{ChatError, ChatEvent};

/// How long a cancel waits for the run to end before answering.
const CANCEL_WAIT: Duration = Duration::from_secs(3);
/// Step of that wait.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Why a run operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunsError {
    /// 404 `not_found`: absent, in another tenant, not visible to the
    /// caller, or its events expired.
    #[error("run not found")]
    NotFound,
    /// 503 `service_unavailable`: the database or Redis did not answer.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
    /// 500 `internal_error`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for RunsError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => RunsError::ServiceUnavailable(cause.to_string()),
            StoreError::Other(cause) => RunsError::Internal(cause.to_string()),
        }
    }
}

impl From<RunBusError> for RunsError {
    fn from(error: RunBusError) -> Self {
        match error {
            RunBusError::Unavailable(cause) => RunsError::ServiceUnavailable(cause),
        }
    }
}

/// A run as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// The run.
    pub run_id: RunId,
    /// Its conversation.
    pub conversation_id: String,
    /// Its status now (a lapsed lease reads `interrupted`).
    pub status: RunStatus,
    /// The agent answering (or that answered).
    pub agent_used: String,
    /// Admission time.
    pub started_at: OffsetDateTime,
    /// End time, once ended.
    pub finished_at: Option<OffsetDateTime>,
    /// Id of its latest event.
    pub last_event_id: u64,
    /// The error code, when it did not complete.
    pub error: Option<String>,
}

/// The run a conversation is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRun {
    /// The run.
    pub run_id: RunId,
    /// Id of its latest event.
    pub last_event_id: u64,
}

/// Runs for the routes.
#[derive(Clone)]
pub struct RunService {
    tracking: RunTracking,
    conversations: Arc<dyn ConversationStore>,
    clock: Arc<dyn Clock>,
}

impl RunService {
    /// The run use cases over `tracking`, with visibility from `conversations`.
    pub fn new(
        tracking: RunTracking,
        conversations: Arc<dyn ConversationStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tracking,
            conversations,
            clock,
        }
    }

    async fn stored(&self, scope: ConversationScope, id: RunId) -> Result<Run, RunsError> {
        self.tracking
            .store
            .get(scope.tenant_id, id)
            .await?
            .ok_or(RunsError::NotFound)
    }

    /// The run when its conversation is visible to the caller.
    async fn visible(&self, scope: ConversationScope, id: RunId) -> Result<Run, RunsError> {
        let run = self.stored(scope, id).await?;
        let visible = self
            .conversations
            .find(scope, &run.conversation)
            .await
            .map_err(|e| match e {
                agents_domain::conversation::ConversationError::NotFound => RunsError::NotFound,
                agents_domain::conversation::ConversationError::Store(e) => e.into(),
            })?
            .is_some();
        if visible {
            Ok(run)
        } else {
            Err(RunsError::NotFound)
        }
    }

    /// The latest event id: the row's once ended, the log's while running.
    async fn last_event_id(&self, run: &Run) -> u64 {
        if run.status.is_final() {
            return run.last_event_id;
        }
        match self.tracking.bus.replay(run.id, run.last_event_id).await {
            Ok(Some(events)) => events.last().map_or(run.last_event_id, |e| e.id),
            _ => run.last_event_id,
        }
    }

    async fn view(&self, run: Run) -> RunView {
        let now = self.clock.now();
        let status = run.status_at(now);
        let last_event_id = self.last_event_id(&run).await;
        let error = match (run.status, status) {
            (RunStatus::Running, RunStatus::Interrupted) => Some("interrupted".to_owned()),
            _ => run.error.clone(),
        };
        RunView {
            run_id: run.id,
            conversation_id: run.conversation.to_string(),
            status,
            agent_used: run.agent_used,
            started_at: run.started_at,
            finished_at: run.finished_at,
            last_event_id,
            error,
        }
    }

    /// `GET /chat/runs/{id}`.
    pub async fn get(&self, scope: ConversationScope, id: RunId) -> Result<RunView, RunsError> {
        let run = self.visible(scope, id).await?;
        Ok(self.view(run).await)
    }

    /// `GET /chat/runs/{id}/events`: the events after `after`, then live
    /// ones until the terminal event. A run whose process went away ends
    /// with a terminal `interrupted` made here.
    pub async fn events(
        &self,
        scope: ConversationScope,
        id: RunId,
        after: u64,
    ) -> Result<RunEventStream, RunsError> {
        let run = self.visible(scope, id).await?;
        if run.status_at(self.clock.now()) == RunStatus::Running {
            let live = self.tracking.bus.follow(id, after).await?;
            return Ok(self.watched(run, live, after));
        }
        let stored = self.tracking.bus.replay(id, after).await?;
        let Some(mut events) = stored else {
            return Err(RunsError::NotFound);
        };
        if !events.last().is_some_and(|e| e.terminal) && run.status == RunStatus::Running {
            // Its process died before the terminal event: say so.
            let last = events.last().map_or(after.max(run.last_event_id), |e| e.id);
            events.push(self.interrupted_event(&run, last + 1));
        }
        Ok(Box::pin(futures::stream::iter(events.into_iter().map(Ok))))
    }

    fn interrupted_event(&self, run: &Run, id: u64) -> RunEventRecord {
        let conversation = run.conversation.to_string();
        let event = ChatEvent::Error(ChatError::Interrupted);
        let data = self.tracking.encoder.encode(EventFrame {
            run_id: run.id,
            event_id: id,
            conversation_id: &conversation,
            agent: &run.agent_used,
            event: &event,
        });
        RunEventRecord {
            id,
            data,
            terminal: true,
        }
    }

    /// Follows `live`; when nothing arrives for a lease, checks the row and
    /// ends with `interrupted` if the run's process is gone.
    fn watched(&self, run: Run, live: RunEventStream, after: u64) -> RunEventStream {
        let service = self.clone();
        let quiet = self.tracking.settings.lease;
        let stream = futures::stream::unfold(
            (live, after, false, service, run),
            move |(mut live, last, done, service, run)| async move {
                if done {
                    return None;
                }
                loop {
                    match tokio::time::timeout(quiet, live.next()).await {
                        Ok(Some(Ok(event))) => {
                            let ended = event.terminal;
                            let id = event.id;
                            return Some((Ok(event), (live, id, ended, service, run)));
                        }
                        Ok(Some(Err(error))) => {
                            return Some((Err(error), (live, last, true, service, run)));
                        }
                        Ok(None) => return None,
                        Err(_) => {
                            let now = service.clock.now();
                            let row = service.tracking.store.get(run.tenant_id, run.id).await;
                            if let Ok(Some(row)) = row
                                && row.status == RunStatus::Running
                                && row.status_at(now) == RunStatus::Interrupted
                            {
                                let event = service.interrupted_event(&row, last + 1);
                                return Some((Ok(event), (live, last + 1, true, service, run)));
                            }
                        }
                    }
                }
            },
        );
        Box::pin(stream)
    }

    /// `POST /chat/runs/{id}/cancel`: asks the run's process to stop it and
    /// waits briefly for it to end; an ended run is left as it is.
    pub async fn cancel(&self, scope: ConversationScope, id: RunId) -> Result<RunView, RunsError> {
        // Owners and admins may stop any run of their tenant.
        let run = if scope.include_unowned {
            self.stored(scope, id).await?
        } else {
            self.visible(scope, id).await?
        };
        if run.status_at(self.clock.now()) != RunStatus::Running {
            return Ok(self.view(run).await);
        }
        self.tracking.bus.request_cancel(id).await?;
        let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
        let mut current = run;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(CANCEL_POLL).await;
            current = self.stored(scope, id).await?;
            if current.status_at(self.clock.now()) != RunStatus::Running {
                break;
            }
        }
        Ok(self.view(current).await)
    }

    /// The conversation's running run, for its detail.
    pub async fn active(
        &self,
        scope: ConversationScope,
        conversation: &ConversationKey,
    ) -> Result<Option<ActiveRun>, RunsError> {
        let now = self.clock.now();
        let Some(run) = self
            .tracking
            .store
            .active_for(scope.tenant_id, conversation, now)
            .await?
        else {
            return Ok(None);
        };
        let last_event_id = self.last_event_id(&run).await;
        Ok(Some(ActiveRun {
            run_id: run.id,
            last_event_id,
        }))
    }
}
