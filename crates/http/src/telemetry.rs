//! Telemetry of the service: Prometheus metrics through the `metrics`
//! facade. Recording is a no-op until a recorder is installed (the server
//! installs one per process; tests use a local one), so library users and
//! tests pay nothing for it.

mod counted_limiter;
mod endpoint;
pub mod metrics;
mod turn;

pub use counted_limiter::CountedLimiter;
pub use endpoint::{
    MetricsEndpoint, MetricsError, PoolSample, PoolSampler, install_prometheus, metrics_handler,
    prometheus_builder,
};
pub use turn::ChatTurnMetrics;
