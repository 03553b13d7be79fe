//! `/metrics`: the Prometheus text rendering of the process's recorder, with
//! the database pool sampled at scrape time so the gauges are never stale.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::metrics::{describe, set_db_pool};
use crate::error::{ApiError, ErrorEnvelope};

/// Latency buckets in seconds: from a cached probe (~1 ms) to a long model run.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How often histogram buffers are drained when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Connections of the database pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSample {
    /// Checked out by a query now.
    pub in_use: u64,
    /// Open and waiting.
    pub idle: u64,
}

/// Reads the pool when `/metrics` is scraped (`None` when there is no pool).
pub type PoolSampler = Arc<dyn Fn() -> Option<PoolSample> + Send + Sync>;

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

/// What `/metrics` renders: a recorder handle and an optional pool sampler.
#[derive(Clone)]
pub struct MetricsEndpoint {
    handle: PrometheusHandle,
    pool: Option<PoolSampler>,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("pool_sampler", &self.pool.is_some())
            .finish()
    }
}

impl MetricsEndpoint {
    /// Renders `handle` (from [`install_prometheus`], or from
    /// [`prometheus_builder`]`().build_recorder().handle()` in tests).
    pub fn new(handle: PrometheusHandle) -> Self {
        Self { handle, pool: None }
    }

    /// Samples the database pool on every scrape.
    pub fn with_pool_sampler(mut self, sampler: PoolSampler) -> Self {
        self.pool = Some(sampler);
        self
    }

    /// The current exposition text.
    pub fn render(&self) -> String {
        if let Some(sample) = self.pool.as_ref().and_then(|sample| sample()) {
            set_db_pool(sample.in_use, sample.idle);
        }
        self.handle.render()
    }
}

/// The builder with this service's histogram buckets.
pub fn prometheus_builder() -> PrometheusBuilder {
    // `set_buckets` fails only on an empty list; BUCKETS is not empty.
    let builder = PrometheusBuilder::new();
    match builder.set_buckets(BUCKETS) {
        Ok(with_buckets) => with_buckets,
        Err(_) => PrometheusBuilder::new(),
    }
}

/// Installs the process-wide recorder (once per process) and starts a
/// thread that drains histogram buffers, so memory stays bounded even when
/// nobody scrapes.
pub fn install_prometheus() -> Result<MetricsEndpoint, MetricsError> {
    let handle = prometheus_builder()
        .install_recorder()
        .map_err(|e| MetricsError(e.to_string()))?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| MetricsError(e.to_string()))?;
    Ok(MetricsEndpoint::new(handle))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    tag = "meta",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, body = ErrorEnvelope, description = "metrics are not enabled on this server"),
    )
)]
#[get("/metrics")]
pub async fn metrics_handler(endpoint: Option<web::Data<MetricsEndpoint>>) -> HttpResponse {
    match endpoint {
        Some(endpoint) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(endpoint.render()),
        None => actix_web::ResponseError::error_response(&ApiError::not_found(
            "Metrics are not enabled on this server.",
        )),
    }
}
