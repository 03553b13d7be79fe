//! The run entity, its status and one logged event.

use time::OffsetDateTime;

use crate::conversation::ConversationKey;
use crate::{RunId, TenantId, UserId};

/// Where a run is. Every status but `Running` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// The owning process is working on it.
    Running,
    /// Answered and stored.
    Completed,
    /// Ended with an error (the terminal `error` event says which).
    Failed,
    /// Stopped on request; the partial answer is stored.
    Cancelled,
    /// Ended by a shutdown, or its process went away (lease lapsed).
    Interrupted,
}

impl RunStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name; an unknown one reads as `Failed` so an odd row
    /// never looks alive.
    pub fn from_stored(value: &str) -> Self {
        match value {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "cancelled" => RunStatus::Cancelled,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        }
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        self != RunStatus::Running
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run as it starts (the row written at admission).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// The run.
    pub id: RunId,
    /// Its tenant (every query filters by it).
    pub tenant_id: TenantId,
    /// The user whose turn it is.
    pub user_id: UserId,
    /// The conversation the turn belongs to.
    pub conversation: ConversationKey,
    /// The agent it starts with.
    pub agent: String,
    /// Admission time.
    pub started_at: OffsetDateTime,
    /// The process running it (renews the lease).
    pub owner: String,
    /// Until when it counts as alive without a renewal.
    pub lease_until: OffsetDateTime,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run.
    pub id: RunId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The user whose turn it is (`None` when the user was removed).
    pub user_id: Option<UserId>,
    /// The conversation.
    pub conversation: ConversationKey,
    /// The stored status; see [`Run::status_at`] for the one to show.
    pub status: RunStatus,
    /// The agent that answered last (the starting one while running).
    pub agent_used: String,
    /// Admission time.
    pub started_at: OffsetDateTime,
    /// End time, once ended.
    pub finished_at: Option<OffsetDateTime>,
    /// Id of the last event stored with the row (the terminal one once ended).
    pub last_event_id: u64,
    /// Why it failed, cancelled or was interrupted (an API error code).
    pub error: Option<String>,
    /// The owning process.
    pub owner: String,
    /// Until when it counts as alive without a renewal.
    pub lease_until: OffsetDateTime,
}

impl Run {
    /// The status as of `now`: a run still `running` whose lease lapsed
    /// belongs to a process that is gone, and reads `interrupted`.
    pub fn status_at(&self, now: OffsetDateTime) -> RunStatus {
        match self.status {
            RunStatus::Running if self.lease_until < now => RunStatus::Interrupted,
            status => status,
        }
    }
}

/// How a run ended (written once, only over a `running` row).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The final status (never `Running`).
    pub status: RunStatus,
    /// The agent that answered last.
    pub agent_used: String,
    /// The terminal event's id.
    pub last_event_id: u64,
    /// The error code, for every status but `Completed`.
    pub error: Option<String>,
    /// End time.
    pub finished_at: OffsetDateTime,
}

/// One event of a run's log, exactly as the client receives it: `id` is
/// the SSE `id:` (1, 2, 3... per run) and `data` the JSON of the `data:`
/// line, so a replay repeats the original stream byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEventRecord {
    /// 1-based position in the run.
    pub id: u64,
    /// The event's JSON.
    pub data: String,
    /// Whether this is the run's single terminal event.
    pub terminal: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_final() {
        for status in [
            RunStatus::Running,
            RunStatus::Completed,
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::Interrupted,
        ] {
            assert_eq!(RunStatus::from_stored(status.as_str()), status);
        }
        assert_eq!(RunStatus::from_stored("weird"), RunStatus::Failed);
        assert!(!RunStatus::Running.is_final());
    }

    #[test]
    fn a_running_run_whose_lease_lapsed_reads_interrupted() {
        let now = OffsetDateTime::now_utc();
        let run = Run {
            id: RunId::new(),
            tenant_id: TenantId::new(),
            user_id: None,
            conversation: ConversationKey::generate(),
            status: RunStatus::Running,
            agent_used: "triage".into(),
            started_at: now,
            finished_at: None,
            last_event_id: 0,
            error: None,
            owner: "p1".into(),
            lease_until: now,
        };
        assert_eq!(run.status_at(now), RunStatus::Running);
        let later = now + time::Duration::seconds(1);
        assert_eq!(run.status_at(later), RunStatus::Interrupted);
        let done = Run {
            status: RunStatus::Completed,
            ..run
        };
        assert_eq!(done.status_at(later), RunStatus::Completed);
    }
}
