//! Logging: human lines or JSON lines, every line of a request carrying its
//! correlation id through the request span.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. SQL statements are logged only at debug
/// level or with `DATABASE_ECHO`, since sqlx logs every one at info.
pub fn init(settings: &Settings) {
    let sql_level = if settings.database_echo {
        "debug"
    } else {
        "warn"
    };
    let directives = format!(
        "{},sqlx={sql_level},sea_orm={sql_level},sea_orm_migration=info,actix_server=warn",
        settings.log_level.to_lowercase()
    );
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    if let Err(err) = result {
        eprintln!("logging already initialised: {err}");
    }
}
