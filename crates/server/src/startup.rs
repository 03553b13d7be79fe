//! Wiring: pick adapters from the settings, build the services, serve.

mod observability;
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
    actix_web::rt::System::new().block_on(serve(settings))
}

async fn serve(settings: Settings) -> Result<(), StartupError> {
    let stores = stores::open(&settings).await?;
    let services = build_services(&settings, &stores).await?;
    let metrics = observability::metrics_endpoint(stores.database.clone())?;
    let rate_limits = observability::rate_limits(&settings).await?;
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, console = %console_url(address), store = %stores.description, limiter = services.limiter_name, "agents-server listening");
    let http = HttpSettings {
        max_body_bytes: settings.max_body_bytes,
        cors: CorsSettings {
            origins: settings.allowed_origins.clone(),
            methods: settings.allowed_methods.clone(),
            headers: settings.allowed_headers.clone(),
        },
        workers: settings.workers,
        shutdown_timeout_secs: settings.shutdown_timeout,
        rate_limits,
        metrics: Some(metrics),
    };
    agents_http::serve(listener, services.state, http)?.await?;
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
    let services = build_services(settings, &stores).await?;
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
