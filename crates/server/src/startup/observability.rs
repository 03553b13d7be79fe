//! `/metrics`: the process's Prometheus recorder with the database pool
//! gauges.

use std::sync::Arc;

use agents_adapters::sql::SqlDatabase;
use agents_http::telemetry::{MetricsEndpoint, PoolSample, install_prometheus};

use super::StartupError;

/// Installs the recorder (once per process) and samples `database`'s pool
/// on every scrape.
pub fn metrics_endpoint(database: Option<SqlDatabase>) -> Result<MetricsEndpoint, StartupError> {
    let endpoint = install_prometheus()?;
    Ok(match database {
        Some(database) => endpoint.with_pool_sampler(Arc::new(move || {
            database.pool_usage().map(|usage| PoolSample {
                in_use: u64::from(usage.in_use),
                idle: u64::from(usage.idle),
            })
        })),
        None => endpoint,
    })
}
