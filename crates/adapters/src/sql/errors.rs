//! The one place that decides what a database failure means, for Postgres
//! and SQLite alike: the database is unavailable (503, worth retrying
//! later), a transaction lost a race and can simply run again, or anything
//! else (500). Every SQL store maps its errors through [`store_err`].

use std::ops::Deref;

use agents_domain::StoreCause;
use agents_domain::StoreError;
use agents_domain::account::AccountError;
use agents_domain::conversation::ConversationError;
use sea_orm::sqlx::error::DatabaseError;
use sea_orm::{DbErr, RuntimeErr, SqlxError, SqlxPostgresError, SqlxSqliteError};

/// The counter of store errors by class (`unavailable`, `retried`,
/// `internal`); the HTTP crate describes it on `/metrics`.
pub const DB_ERRORS_TOTAL: &str = "db_errors_total";

/// What a database failure means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The database cannot be reached or is not accepting work right now
    /// (connection refused, cut or timed out, server shutting down or
    /// starting, too many connections, SQLite still locked after the busy
    /// timeout): 503 with `Retry-After`.
    Unavailable,
    /// The transaction lost a race (serialization failure, deadlock, a
    /// stale SQLite snapshot): running it again is expected to succeed.
    Conflict,
    /// Anything else: a bug, bad data, a violated constraint nobody
    /// expected (500).
    Internal,
}

impl FailureClass {
    /// The `class` label of [`DB_ERRORS_TOTAL`].
    fn label(self) -> &'static str {
        match self {
            FailureClass::Unavailable | FailureClass::Conflict => "unavailable",
            FailureClass::Internal => "internal",
        }
    }
}

/// Classifies a sea-orm error (whatever the dialect).
pub fn classify(err: &DbErr) -> FailureClass {
    match err {
        DbErr::ConnectionAcquire(_) => FailureClass::Unavailable,
        // A failure to open or keep a connection, whatever the driver said.
        DbErr::Conn(_) => FailureClass::Unavailable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            classify_sqlx(e)
        }
        _ => FailureClass::Internal,
    }
}

/// Classifies an sqlx error.
pub fn classify_sqlx(err: &SqlxError) -> FailureClass {
    match err {
        // The socket failed: reset, broken pipe, end of stream, refused, timed out.
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => FailureClass::Unavailable,
        SqlxError::Database(db) => classify_database(db.deref()),
        _ => FailureClass::Internal,
    }
}

/// Classifies an error the database itself returned, by its code.
fn classify_database(err: &dyn DatabaseError) -> FailureClass {
    let Some(code) = err.code() else {
        return FailureClass::Internal;
    };
    let is_postgres = err.try_downcast_ref::<SqlxPostgresError>().is_some();
    let is_sqlite = err.try_downcast_ref::<SqlxSqliteError>().is_some();
    // Other drivers (none today): a SQLSTATE has five characters, a SQLite
    // extended result code at most four digits.
    if is_postgres || (!is_sqlite && code.len() == 5) {
        classify_sqlstate(&code)
    } else {
        code.parse()
            .map(classify_sqlite_code)
            .unwrap_or(FailureClass::Internal)
    }
}

/// Classifies a Postgres SQLSTATE.
pub fn classify_sqlstate(code: &str) -> FailureClass {
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => FailureClass::Conflict,
        // admin_shutdown ("terminating connection due to administrator
        // command"), crash_shutdown, cannot_connect_now (starting up or
        // shutting down), idle_session_timeout; too_many_connections.
        "57P01" | "57P02" | "57P03" | "57P05" | "53300" => FailureClass::Unavailable,
        // Class 08: connection exceptions.
        _ if code.starts_with("08") => FailureClass::Unavailable,
        _ => FailureClass::Internal,
    }
}

/// Classifies a SQLite extended result code.
pub fn classify_sqlite_code(code: i32) -> FailureClass {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    const SQLITE_BUSY_SNAPSHOT: i32 = SQLITE_BUSY | (2 << 8);
    match code {
        // A read transaction's snapshot went stale before it could write:
        // returned at once (no busy wait), solved by running it again.
        SQLITE_BUSY_SNAPSHOT => FailureClass::Conflict,
        // Still locked after the busy timeout: another writer holds the
        // database for longer than we wait.
        _ if code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED => {
            FailureClass::Unavailable
        }
        _ => FailureClass::Internal,
    }
}

/// The log line for `err`: sea-orm's text (which includes the driver's
/// message) plus the database's code, which the text leaves out.
fn describe(err: &DbErr) -> String {
    let code = match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.deref() {
            SqlxError::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    };
    match code {
        Some(code) => format!("{err} (code {code})"),
        None => err.to_string(),
    }
}

/// Maps a database error to the domain's store error, keeping the original
/// as the source: unavailable and conflicting failures are
/// `StoreError::Unavailable` (a conflict that is not retried, or no longer,
/// is a 503 too), the rest `StoreError::Other`. Counts it in
/// [`DB_ERRORS_TOTAL`], except conflicts, which `transact` counts when it
/// decides whether to retry them.
pub(crate) fn store_err(err: DbErr) -> StoreError {
    let class = classify(&err);
    if class != FailureClass::Conflict {
        count(class.label());
    }
    let cause = StoreCause::with_source(describe(&err), err);
    match class {
        FailureClass::Unavailable | FailureClass::Conflict => StoreError::Unavailable(cause),
        FailureClass::Internal => StoreError::Other(cause),
    }
}

/// Adds one to [`DB_ERRORS_TOTAL`] for `class`.
pub(crate) fn count(class: &'static str) {
    metrics::counter!(DB_ERRORS_TOTAL, "class" => class).increment(1);
}

/// Port errors that may carry a store error, so `transact` can tell a lost
/// race from any other failure.
pub(crate) trait CarriesStoreError {
    /// The store error inside, if any.
    fn store_error(&self) -> Option<&StoreError>;

    /// Whether this is a serialization failure or deadlock that a new
    /// attempt would solve.
    fn is_conflict(&self) -> bool {
        self.store_error()
            .and_then(|e| e.cause().driver_error())
            .and_then(|source| source.downcast_ref::<DbErr>())
            .is_some_and(|db| classify(db) == FailureClass::Conflict)
    }
}

impl CarriesStoreError for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

impl CarriesStoreError for ConversationError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            ConversationError::Store(e) => Some(e),
            ConversationError::NotFound => None,
        }
    }
}

impl CarriesStoreError for AccountError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            AccountError::Store(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
