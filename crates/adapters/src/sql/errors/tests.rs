//! The classifier on the errors each dialect and the pool really produce.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use agents_domain::StoreError;
use agents_domain::conversation::ConversationError;
use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlxError};

use super::*;

/// A database error from a driver the classifier does not know by type,
/// so only its code speaks.
#[derive(Debug)]
struct CodedError(&'static str);

impl std::fmt::Display for CodedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error {}", self.0)
    }
}

impl std::error::Error for CodedError {}

impl DatabaseError for CodedError {
    fn message(&self) -> &str {
        "coded"
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.0))
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

fn query(err: SqlxError) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

fn database(code: &'static str) -> DbErr {
    query(SqlxError::Database(Box::new(CodedError(code))))
}

fn io_error(kind: io::ErrorKind) -> DbErr {
    query(SqlxError::Io(io::Error::new(kind, "socket")))
}

#[test]
fn postgres_connection_class_states_are_unavailable() {
    for code in [
        "57P01", "57P02", "57P03", "57P05", "53300", "08000", "08001", "08003", "08006", "08P01",
    ] {
        assert_eq!(classify_sqlstate(code), FailureClass::Unavailable, "{code}");
        assert_eq!(
            classify(&database(code)),
            FailureClass::Unavailable,
            "{code}"
        );
    }
}

#[test]
fn serialization_failures_and_deadlocks_are_conflicts() {
    for code in ["40001", "40P01"] {
        assert_eq!(classify_sqlstate(code), FailureClass::Conflict, "{code}");
        assert_eq!(classify(&database(code)), FailureClass::Conflict, "{code}");
    }
}

#[test]
fn other_postgres_states_stay_internal() {
    // unique violation, undefined table, invalid text, query cancelled,
    // database dropped, disk full.
    for code in ["23505", "42P01", "22P02", "57014", "57P04", "53100"] {
        assert_eq!(classify_sqlstate(code), FailureClass::Internal, "{code}");
        assert_eq!(classify(&database(code)), FailureClass::Internal, "{code}");
    }
}

#[test]
fn sqlite_busy_and_locked_are_unavailable_and_a_stale_snapshot_is_a_conflict() {
    // BUSY, LOCKED, BUSY_RECOVERY, LOCKED_SHAREDCACHE, BUSY_TIMEOUT.
    for code in [5, 6, 261, 262, 773] {
        assert_eq!(
            classify_sqlite_code(code),
            FailureClass::Unavailable,
            "{code}"
        );
    }
    assert_eq!(classify_sqlite_code(517), FailureClass::Conflict);
    // ERROR, CONSTRAINT, CONSTRAINT_UNIQUE, READONLY.
    for code in [1, 19, 2067, 8] {
        assert_eq!(classify_sqlite_code(code), FailureClass::Internal, "{code}");
    }
    assert_eq!(classify(&database("5")), FailureClass::Unavailable);
    assert_eq!(classify(&database("517")), FailureClass::Conflict);
    assert_eq!(classify(&database("2067")), FailureClass::Internal);
}

#[test]
fn pool_timeouts_and_closed_pools_are_unavailable() {
    assert_eq!(
        classify(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        FailureClass::Unavailable
    );
    assert_eq!(
        classify(&DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
        FailureClass::Unavailable
    );
    for err in [
        SqlxError::PoolTimedOut,
        SqlxError::PoolClosed,
        SqlxError::WorkerCrashed,
    ] {
        assert_eq!(classify_sqlx(&err), FailureClass::Unavailable, "{err}");
    }
    assert_eq!(
        classify(&DbErr::Conn(RuntimeErr::Internal("Disconnected".into()))),
        FailureClass::Unavailable
    );
}

#[test]
fn socket_failures_are_unavailable() {
    for kind in [
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionAborted,
        io::ErrorKind::BrokenPipe,
        io::ErrorKind::UnexpectedEof,
        io::ErrorKind::TimedOut,
    ] {
        assert_eq!(
            classify(&io_error(kind)),
            FailureClass::Unavailable,
            "{kind}"
        );
    }
}

#[test]
fn decoding_and_mapping_failures_are_internal() {
    for err in [
        query(SqlxError::RowNotFound),
        query(SqlxError::ColumnNotFound("x".into())),
        query(SqlxError::Protocol("bad message".into())),
        DbErr::Type("not a uuid".into()),
        DbErr::Custom("bug".into()),
        DbErr::RecordNotFound("x".into()),
    ] {
        assert_eq!(classify(&err), FailureClass::Internal, "{err}");
    }
}

#[test]
fn store_err_keeps_the_driver_error_and_names_the_code() {
    let err = store_err(database("57P01"));
    let StoreError::Unavailable(cause) = &err else {
        panic!("expected unavailable, got {err:?}");
    };
    assert!(
        cause.message().contains("(code 57P01)"),
        "{}",
        cause.message()
    );
    let driver = cause
        .driver_error()
        .and_then(|e| e.downcast_ref::<DbErr>())
        .expect("the DbErr is kept");
    assert_eq!(classify(driver), FailureClass::Unavailable);

    assert!(matches!(
        store_err(query(SqlxError::RowNotFound)),
        StoreError::Other(_)
    ));
    // A conflict that reaches a caller unretried is a 503, not a 500.
    assert!(matches!(
        store_err(database("40001")),
        StoreError::Unavailable(_)
    ));
}

#[test]
fn only_conflicts_carried_by_port_errors_count_as_conflicts() {
    assert!(store_err(database("40P01")).is_conflict());
    assert!(ConversationError::Store(store_err(database("40001"))).is_conflict());
    assert!(!ConversationError::Store(store_err(database("57P01"))).is_conflict());
    assert!(!ConversationError::NotFound.is_conflict());
    // A message-only error (no driver error behind it) is never retried.
    assert!(!StoreError::unavailable("40001").is_conflict());
}
