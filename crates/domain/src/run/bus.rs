//! The run bus port: each run's event log (append, replay after an id,
//! follow live) and its cancel requests, in one process or shared by
//! replicas.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;

use super::RunEventRecord;
use crate::RunId;

/// Why the bus could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunBusError {
    /// The backing service (Redis) did not answer.
    #[error("run bus unavailable: {0}")]
    Unavailable(String),
}

/// The events of a run after some id, in order, without gap or repeat,
/// ending after the terminal event.
pub type RunEventStream = Pin<Box<dyn Stream<Item = Result<RunEventRecord, RunBusError>> + Send>>;

/// Resolves once a cancel of the run was requested (from any replica).
pub type CancelSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Run event logs and cancel requests.
#[async_trait]
pub trait RunBus: Send + Sync {
    /// Appends events of `run` in order (ids continue the log: 1, 2, 3...).
    /// Only the run's owner appends.
    async fn append(&self, run: RunId, events: &[RunEventRecord]) -> Result<(), RunBusError>;

    /// Every stored event with an id above `after`, in order; `None` when
    /// the run's log is unknown here (never existed, or expired).
    async fn replay(
        &self,
        run: RunId,
        after: u64,
    ) -> Result<Option<Vec<RunEventRecord>>, RunBusError>;

    /// The events above `after`, stored ones first and then live ones as
    /// they are appended, ending after the terminal event. No event is
    /// missed or repeated where the stored ones meet the live ones.
    async fn follow(&self, run: RunId, after: u64) -> Result<RunEventStream, RunBusError>;

    /// The log of an ended run: kept for `retention`, then dropped.
    async fn ended(&self, run: RunId, retention: Duration) -> Result<(), RunBusError>;

    /// Asks the run's owner (whichever process) to stop it.
    async fn request_cancel(&self, run: RunId) -> Result<(), RunBusError>;

    /// A signal that resolves when a cancel of `run` is requested; the
    /// owner takes it when the run starts, and drops it when the run ends.
    async fn cancel_signal(&self, run: RunId) -> Result<CancelSignal, RunBusError>;
}
