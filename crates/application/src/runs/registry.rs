//! This process's running runs: whose lease it renews, and which it
//! interrupts when it shuts down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_domain::RunId;
use agents_domain::clock::Clock;
use agents_domain::run::RunStore;
use tokio::sync::watch;

/// The runs this process owns.
#[derive(Debug)]
pub struct RunRegistry {
    runs: Mutex<HashMap<RunId, watch::Sender<bool>>>,
    /// How many runs are registered; waited on at shutdown.
    count: watch::Sender<usize>,
}

impl Default for RunRegistry {
    fn default() -> Self {
        Self {
            runs: Mutex::default(),
            count: watch::channel(0).0,
        }
    }
}

/// A registered run: gone from the registry when dropped.
#[derive(Debug)]
pub struct RunRegistration {
    registry: Arc<RunRegistry>,
    run: RunId,
    interrupt: watch::Receiver<bool>,
}

impl RunRegistration {
    /// Resolves when the process interrupts its runs (shutdown).
    pub async fn interrupted(&mut self) {
        if self.interrupt.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for RunRegistration {
    fn drop(&mut self) {
        let mut runs = self.registry.lock();
        runs.remove(&self.run);
        self.registry.count.send_replace(runs.len());
    }
}

impl RunRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RunId, watch::Sender<bool>>> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a run that this process is starting.
    pub fn register(self: &Arc<Self>, run: RunId) -> RunRegistration {
        let (sender, interrupt) = watch::channel(false);
        let mut runs = self.lock();
        runs.insert(run, sender);
        self.count.send_replace(runs.len());
        RunRegistration {
            registry: Arc::clone(self),
            run,
            interrupt,
        }
    }

    /// The runs registered now.
    pub fn ids(&self) -> Vec<RunId> {
        self.lock().keys().copied().collect()
    }

    /// How many runs are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no run is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until no run is registered, at most `limit`; whether it got there.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let mut count = self.count.subscribe();
        tokio::time::timeout(limit, count.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Asks every registered run to stop as interrupted.
    pub fn interrupt_all(&self) {
        for sender in self.lock().values() {
            sender.send_replace(true);
        }
    }

    /// Renews the lease of the registered runs every third of `lease`, for
    /// as long as the returned task runs (abort it to stop).
    pub fn spawn_lease_renewal(
        self: &Arc<Self>,
        store: Arc<dyn RunStore>,
        clock: Arc<dyn Clock>,
        owner: String,
        lease: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let registry = Arc::clone(self);
        let period = (lease / 3).max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let ids = registry.ids();
                if ids.is_empty() {
                    continue;
                }
                let until = clock.now() + lease;
                if let Err(error) = store.renew(&owner, &ids, until).await {
                    tracing::warn!(%error, runs = ids.len(), "renewing the run leases failed");
                }
            }
        })
    }
}
