//! A readiness probe for in-memory stores: always ready.

use agents_domain::StoreError;
use agents_domain::health::HealthProbe;
use async_trait::async_trait;

/// Always answers `Ok`: in-memory stores cannot be unreachable.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysReady;

#[async_trait]
impl HealthProbe for AlwaysReady {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
