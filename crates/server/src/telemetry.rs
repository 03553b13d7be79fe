//! Logging: human lines or JSON lines, every line of a request carrying its
//! correlation id through the request span.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::{LogFormat, Settings};

/// Targets quieter than the rest by default: (target, most verbose level
/// they log at unless asked for more). sqlx logs every statement at info.
const QUIET_TARGETS: &[(&str, LevelFilter)] = &[
    ("sqlx", LevelFilter::WARN),
    ("sea_orm", LevelFilter::WARN),
    ("actix_server", LevelFilter::WARN),
];

/// The filter for `LOG_LEVEL` (and `DATABASE_ECHO`). A plain level applies
/// to every target: no target logs below it (the migrator included), the
/// quiet ones stay at their cap when that is stricter. A filter expression
/// (`info,sqlx=debug`) is taken as written, with the quiet targets' caps
/// only for targets it does not name. `DATABASE_ECHO` asks for SQL at debug
/// explicitly and so wins over the level.
fn directives(log_level: &str, database_echo: bool) -> String {
    let log_level = log_level.trim().to_lowercase();
    let sql_echo = |target: &str| database_echo && matches!(target, "sqlx" | "sea_orm");
    match log_level.parse::<LevelFilter>() {
        Ok(level) => {
            let mut directives = vec![level.to_string().to_lowercase()];
            for (target, cap) in QUIET_TARGETS {
                let effective = if sql_echo(target) {
                    LevelFilter::DEBUG
                } else {
                    // LevelFilter orders by verbosity: the smaller is the stricter.
                    level.min(*cap)
                };
                directives.push(format!("{target}={}", effective.to_string().to_lowercase()));
            }
            directives.join(",")
        }
        Err(_) => {
            let mut directives = vec![log_level.clone()];
            for (target, cap) in QUIET_TARGETS {
                if !log_level.contains(target) {
                    let effective = if sql_echo(target) {
                        LevelFilter::DEBUG
                    } else {
                        *cap
                    };
                    directives.push(format!("{target}={}", effective.to_string().to_lowercase()));
                }
            }
            directives.join(",")
        }
    }
}

/// Installs the global subscriber. SQL statements are logged only with
/// `DATABASE_ECHO`, or when `LOG_LEVEL` names `sqlx` itself.
pub fn init(settings: &Settings) {
    let directives = directives(&settings.log_level, settings.database_echo);
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

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn a_plain_level_applies_to_every_target() {
        assert_eq!(
            directives("warn", false),
            "warn,sqlx=warn,sea_orm=warn,actix_server=warn"
        );
        assert_eq!(
            directives("ERROR", false),
            "error,sqlx=error,sea_orm=error,actix_server=error",
            "no target is more verbose than the level"
        );
        assert_eq!(
            directives("debug", false),
            "debug,sqlx=warn,sea_orm=warn,actix_server=warn",
            "the quiet targets stay quiet unless named"
        );
        assert_eq!(
            directives("off", false),
            "off,sqlx=off,sea_orm=off,actix_server=off"
        );
    }

    #[test]
    fn database_echo_and_filter_expressions_are_honoured() {
        assert_eq!(
            directives("warn", true),
            "warn,sqlx=debug,sea_orm=debug,actix_server=warn"
        );
        assert_eq!(
            directives("info,sqlx=debug", false),
            "info,sqlx=debug,sea_orm=warn,actix_server=warn"
        );
    }

    #[test]
    fn every_directive_parses() {
        for (level, echo) in [
            ("trace", false),
            ("info", true),
            ("agents_http=debug", false),
        ] {
            let directives = directives(level, echo);
            assert!(
                tracing_subscriber::EnvFilter::try_new(&directives).is_ok(),
                "{directives}"
            );
        }
    }
}
