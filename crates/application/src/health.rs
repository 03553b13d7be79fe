//! Liveness and readiness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_domain::health::HealthProbe;

/// Why the service is not ready.
#[derive(Debug, thiserror::Error)]
pub enum ReadinessError {
    /// The database did not answer in time.
    #[error("database did not answer within {0:?}")]
    Timeout(Duration),
    /// The database answered with an error.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Answers the probes: uptime for liveness, a bounded database ping for readiness.
pub struct HealthService {
    started: Instant,
    probe: Option<Arc<dyn HealthProbe>>,
    timeout: Duration,
}

impl HealthService {
    /// A health service; `probe` is pinged for readiness with `timeout`
    /// (no probe: always ready).
    pub fn new(probe: Option<Arc<dyn HealthProbe>>, timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            probe,
            timeout,
        }
    }

    /// Seconds since start.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Pings the database within the configured timeout.
    pub async fn ready(&self) -> Result<(), ReadinessError> {
        let Some(probe) = &self.probe else {
            return Ok(());
        };
        match tokio::time::timeout(self.timeout, probe.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(ReadinessError::Unavailable(err.to_string())),
            Err(_) => Err(ReadinessError::Timeout(self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_domain::StoreError;
    use agents_domain::health::MockHealthProbe;

    #[tokio::test]
    async fn ready_without_probe() {
        let service = HealthService::new(None, Duration::from_millis(10));
        assert!(service.ready().await.is_ok());
    }

    #[tokio::test]
    async fn a_failing_probe_is_not_ready() {
        let mut probe = MockHealthProbe::new();
        probe
            .expect_ping()
            .returning(|| Err(StoreError::Unavailable("refused".into())));
        let service = HealthService::new(Some(Arc::new(probe)), Duration::from_millis(50));
        assert!(matches!(
            service.ready().await,
            Err(ReadinessError::Unavailable(_))
        ));
    }

    struct SlowProbe;
    #[async_trait::async_trait]
    impl HealthProbe for SlowProbe {
        async fn ping(&self) -> Result<(), StoreError> {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_slow_probe_times_out() {
        let service = HealthService::new(Some(Arc::new(SlowProbe)), Duration::from_millis(20));
        assert!(matches!(
            service.ready().await,
            Err(ReadinessError::Timeout(_))
        ));
    }
}
