//! Wiring: pick adapters from the settings, build the services, serve.

mod app;
mod observability;
mod runs;
mod secrets;
mod services;
mod stores;

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;

use crate::config::Settings;

pub use app::{App, AppBuilder};
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

pub use runs::RunLifecycle;

/// Builds everything and serves until SIGINT/SIGTERM, then drains runs.
pub fn run(settings: Settings, on_listening: impl FnOnce(SocketAddr)) -> Result<(), StartupError> {
    // Runs execute here, not on the HTTP workers, which stop at shutdown
    // while runs whose clients left may still be going.
    let runs_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agents-runs")
        .enable_all()
        .build()?;
    let handle = runs_runtime.handle().clone();
    let result = actix_web::rt::System::new().block_on(serve(settings, handle, on_listening));
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

async fn serve(
    settings: Settings,
    runs_runtime: tokio::runtime::Handle,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), StartupError> {
    let mut app = App::builder(&settings)
        .runs_runtime(runs_runtime)
        .build()
        .await?;
    app.http.metrics = Some(observability::metrics_endpoint(
        app.stores.database.clone(),
    )?);
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, console = %console_url(address), store = %app.stores.description, limiter = app.limiter_name, run_bus = app.run_bus_name, "agents-server listening");
    // Streams of runs being drained must outlive the grace; the stop is
    // ours, after the signal, so runs can be drained first.
    app.http.shutdown_timeout_secs = app
        .http
        .shutdown_timeout_secs
        .max(app.runs.stream_drain_secs());
    app.http.handle_signals = false;
    let server = agents_http::serve(listener, app.state, app.http)?;
    on_listening(address);
    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);
    stop_signal().await;
    tracing::info!("shutdown requested: no new connections; running runs get the grace");
    // Stop accepting at once; streams stay open while the runs drain.
    let stopped = handle.stop(true);
    app.runs.drain().await;
    stopped.await;
    match serving.await {
        Ok(result) => result?,
        Err(error) => tracing::error!(%error, "the HTTP server task failed"),
    }
    if let Some(database) = app.stores.database {
        database.close().await;
    }
    tracing::info!("agents-server stopped");
    Ok(())
}

/// A server started by [`spawn_app`].
pub struct RunningApp {
    /// Where it listens (`127.0.0.1` and the port the system chose).
    pub address: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Stops it.
    pub handle: ServerHandle,
}

/// Serves `app` on 127.0.0.1, on a port the system picks (no race between
/// choosing a port and binding it), on the current actix runtime.
pub fn spawn_app(app: App) -> Result<RunningApp, StartupError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let address = listener.local_addr()?;
    let server = agents_http::serve(listener, app.state, app.http)?;
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok(RunningApp {
        address,
        base_url: format!("http://{address}"),
        handle,
    })
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
