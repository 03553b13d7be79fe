//! `/metrics` and request rate limits: the process's Prometheus recorder
//! with the database pool gauges, and the per-address and per-tenant limits
//! over the same limiter choice as login throttling.

use std::sync::Arc;

use agents_adapters::sql::SqlDatabase;
use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
use agents_http::telemetry::{MetricsEndpoint, PoolSample, install_prometheus};

use super::{StartupError, limiter};
use crate::config::Settings;

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

/// `RATE_LIMIT_ANON_PER_MINUTE` and `RATE_LIMIT_CHAT_PER_MINUTE`, counted in
/// Redis when `REDIS_URL` is set so every replica shares one budget.
pub async fn rate_limits(settings: &Settings) -> Result<RateLimitPolicy, StartupError> {
    let (limiter, _) = limiter(settings).await?;
    Ok(RateLimitPolicy::new(
        limiter,
        RateLimits {
            anon_per_minute: settings.rate_limit_anon_per_minute,
            chat_per_minute: settings.rate_limit_chat_per_minute,
        },
    ))
}
