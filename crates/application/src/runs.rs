//! Runs apart from their request: the settings and collaborators a chat
//! turn logs its events with, this process's registry of running runs
//! (lease renewal, shutdown), and the use cases of the run routes (read,
//! follow, cancel, the conversation's active run).

mod encoder;
mod registry;
mod service;

use std::sync::Arc;
use std::time::Duration;

use agents_domain::run::{RunBus, RunStore};

pub use encoder::{EventFrame, RunEventEncoder};
pub use registry::{RunRegistration, RunRegistry};
pub use service::{ActiveRun, RunService, RunView, RunsError};

/// Tunables of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// How long an ended run's events stay readable (`RUN_EVENTS_RETENTION`).
    pub retention: Duration,
    /// How long a run counts as alive without a renewal by its process
    /// (`RUN_LEASE_SECONDS`); renewed every third of it.
    pub lease: Duration,
    /// This process's name in the run rows (unique per process).
    pub owner: String,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(900),
            lease: Duration::from_secs(15),
            owner: format!("process-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

/// What a chat turn needs to live as a run: the row store, the event bus,
/// the wire encoding of events (the HTTP edge's), this process's registry.
#[derive(Clone)]
pub struct RunTracking {
    /// Run rows.
    pub store: Arc<dyn RunStore>,
    /// Event logs and cancel requests.
    pub bus: Arc<dyn RunBus>,
    /// How an event is written to the log (as the client will see it).
    pub encoder: Arc<dyn RunEventEncoder>,
    /// This process's running runs.
    pub registry: Arc<RunRegistry>,
    /// Retention, lease, owner.
    pub settings: RunSettings,
    /// Where runs execute: a runtime that outlives the HTTP workers, so a
    /// run whose client left still ends properly at shutdown. `None`: the
    /// caller's runtime.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl RunTracking {
    /// Starts `work` where runs execute.
    pub(crate) fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(work)),
            None => drop(tokio::spawn(work)),
        }
    }
}
