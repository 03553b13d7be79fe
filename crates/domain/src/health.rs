//! The readiness probe port: does a dependency answer?

use async_trait::async_trait;

use crate::StoreError;

/// A dependency that can be pinged for readiness.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Answers `Ok` when the dependency is usable. The caller bounds the wait.
    async fn ping(&self) -> Result<(), StoreError>;
}
