//! Wiring: pick adapters from the settings, build the services, serve.

mod observability;
mod runs;
mod secrets;
mod services;
mod stores;

use std::net::TcpListener;

use agents_http::HttpSettings;
use agents_http::cors::CorsSettings;

use crate::config::Settings;

pub(crate) use services::limiter;
pub use services::{Services, build_services};
pub use stores::Stores;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Configuration that only wiring can check (agents, keys).
    #[error("configuration error: {0}")]
    Config(String),
    /// The store could not be opened or migrated.
    #[error("{0}")]
    Store(String),
    /// The address could not be bound, or the server failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The metrics recorder could not be installed.
    #[error(transparent)]
    Metrics(#[from] agents_http::telemetry::MetricsError),
}

/// Builds everything and serves until SIGINT/SIGTERM.
pub fn run(settings: Settings) -> Result<(), StartupError> {
    // Runs execute here, not on the HTTP workers, which stop at shutdown
    // while runs whose clients left may still be going.
    let runs_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agents-runs")
        .enable_all()
        .build()?;
    let handle = runs_runtime.handle().clone();
    let result = actix_web::rt::System::new().block_on(serve(settings, handle));
    runs_runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Resolves on SIGTERM or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(settings: Settings, runtime: tokio::runtime::Handle) -> Result<(), StartupError> {
    let stores = stores::open(&settings).await?;
    let services = build_services(&settings, &stores, Some(runtime)).await?;
    let metrics = observability::metrics_endpoint(stores.database.clone())?;
    let rate_limits = observability::rate_limits(&settings).await?;
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, console = %console_url(address), store = %stores.description, limiter = services.limiter_name, run_bus = services.run_bus_name, "agents-server listening");
    let http = HttpSettings {
        max_body_bytes: settings.max_body_bytes,
        cors: CorsSettings {
            origins: settings.allowed_origins.clone(),
            methods: settings.allowed_methods.clone(),
            headers: settings.allowed_headers.clone(),
        },
        workers: settings.workers,
        // Streams of runs being drained must outlive the grace.
        shutdown_timeout_secs: settings
            .shutdown_timeout
            .max(services.runs.stream_drain_secs()),
        rate_limits,
        metrics: Some(metrics),
        handle_signals: false,
    };
    let server = agents_http::serve(listener, services.state, http)?;
    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);
    stop_signal().await;
    tracing::info!("shutdown requested: no new connections; running runs get the grace");
    // Stop accepting at once; streams stay open while the runs drain.
    let stopped = handle.stop(true);
    services.runs.drain().await;
    stopped.await;
    match serving.await {
        Ok(result) => result?,
        Err(error) => tracing::error!(%error, "the HTTP server task failed"),
    }
    if let Some(database) = stores.database {
        database.close().await;
    }
    tracing::info!("agents-server stopped");
    Ok(())
}

/// The web console's address as a browser on this machine opens it (an
/// unspecified bind address such as `0.0.0.0` is reached via loopback).
fn console_url(address: std::net::SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/app", address.port())
}

/// Opens the stores and builds the services without serving (operator commands).
pub async fn open_services(settings: &Settings) -> Result<(Stores, Services), StartupError> {
    let stores = stores::open(settings).await?;
    let services = build_services(settings, &stores, None).await?;
    Ok((stores, services))
}

#[cfg(test)]
mod tests {
    use super::console_url;

    #[test]
    fn the_console_address_is_one_a_local_browser_can_open() {
        let url = |a: &str| console_url(a.parse().expect("address"));
        assert_eq!(url("127.0.0.1:8000"), "http://127.0.0.1:8000/app");
        assert_eq!(url("0.0.0.0:8000"), "http://127.0.0.1:8000/app");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/app");
        assert_eq!(url("[::1]:9000"), "http://[::1]:9000/app");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80/app");
    }
}
