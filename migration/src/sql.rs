//! Helpers the migrations share: running a backend's SQL script and binding
//! timestamps the same way the adapters do.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Runs the script for the connection's backend (several statements at once).
pub(crate) async fn run_script(
    manager: &SchemaManager<'_>,
    postgres: &str,
    sqlite: &str,
) -> Result<(), DbErr> {
    let script = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "unsupported database backend {other:?}"
            )));
        }
    };
    manager
        .get_connection()
        .execute_unprepared(script)
        .await
        .map(|_| ())
}

/// How every timestamp is bound: a `timestamptz` on Postgres; on SQLite a
/// fixed-width RFC 3339 text in UTC with microseconds, so that text order is
/// time order (sqlx's own encoding trims trailing zeros, which breaks
/// `ORDER BY`). sqlx reads both forms back as `OffsetDateTime`.
pub fn timestamp_value(backend: DbBackend, at: OffsetDateTime) -> Value {
    match backend {
        DbBackend::Sqlite => {
            let utc = at.to_offset(time::UtcOffset::UTC);
            let text = utc
                .replace_nanosecond(utc.microsecond() * 1_000)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .map(|s| fixed_width(&s, utc.microsecond()))
                .unwrap_or_default();
            Value::String(Some(text))
        }
        _ => Value::TimeDateTimeWithTimeZone(Some(at)),
    }
}

/// Rewrites the fraction of an RFC 3339 UTC text (`...:SS[.f]Z`) to exactly six digits.
fn fixed_width(rfc3339: &str, micros: u32) -> String {
    let base = rfc3339.trim_end_matches('Z');
    let whole = base.split('.').next().unwrap_or(base);
    format!("{whole}.{micros:06}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_timestamps_are_fixed_width_and_sort_as_time() {
        let a = time::macros::datetime!(2025-11-06 12:00:00 UTC);
        let b = time::macros::datetime!(2025-11-06 12:00:00.5 UTC);
        let c = time::macros::datetime!(2025-11-06 12:00:00.55 UTC);
        let text = |t| match timestamp_value(DbBackend::Sqlite, t) {
            Value::String(Some(s)) => s,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(text(a), "2025-11-06T12:00:00.000000Z");
        assert!(text(a) < text(b) && text(b) < text(c));
        let parsed = OffsetDateTime::parse(&text(c), &Rfc3339).expect("parses");
        assert_eq!(parsed, c);
    }
}
