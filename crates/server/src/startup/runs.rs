//! Runs in the server: the bus (Redis when `REDIS_URL` is set, else in
//! process), the lease renewal of this process's runs, and the drain on
//! shutdown (let runs finish for `SHUTDOWN_GRACE_SECONDS`, then interrupt
//! the rest and wait for them to store what they have).

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::runs::{InProcessRunBus, RedisRunBus};
use agents_application::runs::{RunRegistry, RunSettings, RunTracking};
use agents_domain::clock::Clock;
use agents_domain::run::{RunBus, RunStore};
use agents_http::SseEncoder;

use super::StartupError;
use crate::config::Settings;

/// How long interrupted runs get to store their partial answers.
const INTERRUPT_WAIT: Duration = Duration::from_secs(10);

/// This process's runs, for the shutdown.
#[derive(Clone)]
pub struct RunLifecycle {
    registry: Arc<RunRegistry>,
    grace: Duration,
}

impl RunLifecycle {
    /// Seconds the HTTP server must keep streams open at shutdown so that
    /// interrupted runs' terminal events still reach their clients.
    pub fn stream_drain_secs(&self) -> u64 {
        (self.grace + INTERRUPT_WAIT).as_secs() + 1
    }

    /// Lets running runs finish within the grace, then interrupts the
    /// rest and waits for them to end.
    pub async fn drain(&self) {
        let running = self.registry.len();
        if running == 0 {
            return;
        }
        tracing::info!(
            running,
            grace_seconds = self.grace.as_secs(),
            "waiting for runs to finish"
        );
        if self.registry.wait_idle(self.grace).await {
            return;
        }
        let left = self.registry.len();
        tracing::warn!(runs = left, "grace over: interrupting the runs still going");
        self.registry.interrupt_all();
        if !self.registry.wait_idle(INTERRUPT_WAIT).await {
            tracing::error!(
                runs = self.registry.len(),
                "runs did not end after the interrupt"
            );
        }
    }
}

async fn bus(settings: &Settings) -> Result<(Arc<dyn RunBus>, &'static str), StartupError> {
    match &settings.redis_url {
        Some(url) => {
            let redis = RedisRunBus::connect(url.expose())
                .await
                .map_err(|e| StartupError::Store(format!("REDIS_URL (run events): {e}")))?;
            Ok((Arc::new(redis), "redis"))
        }
        None => Ok((Arc::new(InProcessRunBus::new()), "in-process")),
    }
}

/// Builds the run tracking (and starts the lease renewal) over `store`.
pub async fn tracking(
    settings: &Settings,
    store: Arc<dyn RunStore>,
    clock: Arc<dyn Clock>,
    runtime: Option<tokio::runtime::Handle>,
) -> Result<(RunTracking, RunLifecycle, &'static str), StartupError> {
    let (bus, bus_name) = bus(settings).await?;
    let registry = Arc::new(RunRegistry::new());
    let run_settings = RunSettings {
        retention: Duration::from_secs(settings.run_events_retention),
        lease: Duration::from_secs(settings.run_lease_seconds),
        ..RunSettings::default()
    };
    registry.spawn_lease_renewal(
        store.clone(),
        clock,
        run_settings.owner.clone(),
        run_settings.lease,
    );
    let lifecycle = RunLifecycle {
        registry: registry.clone(),
        grace: Duration::from_secs(settings.shutdown_grace_seconds),
    };
    let tracking = RunTracking {
        store,
        bus,
        encoder: Arc::new(SseEncoder),
        registry,
        settings: run_settings,
        runtime,
    };
    Ok((tracking, lifecycle, bus_name))
}
