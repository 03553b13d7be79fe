//! Runs: every accepted chat turn, persisted apart from the request that
//! started it, so it can be watched again, reattached to and stopped.

mod bus;
mod model;
mod store;

pub use bus::{CancelSignal, RunBus, RunBusError, RunEventStream};
pub use model::{NewRun, Run, RunEventRecord, RunOutcome, RunStatus};
pub use store::RunStore;
