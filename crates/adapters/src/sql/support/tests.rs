//! `transact` on a real (SQLite) transaction, with the failures it must
//! and must not retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use agents_domain::{StoreCause, StoreError};
use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
use sea_orm::{ConnectionTrait, DbErr, RuntimeErr, SqlxError};

use super::*;
use crate::sql::{PoolOptions, SqlDatabase, connect};

/// A driver error carrying only a SQLSTATE.
#[derive(Debug)]
struct State(&'static str);

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SQLSTATE {}", self.0)
    }
}

impl std::error::Error for State {}

impl DatabaseError for State {
    fn message(&self) -> &str {
        "state"
    }
    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.0.into())
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

fn failure(code: &'static str) -> StoreError {
    store_err(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(
        SqlxError::Database(Box::new(State(code))),
    ))))
}

async fn database() -> (tempfile::TempDir, SqlDatabase) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let db = connect(&url, &PoolOptions::default()).await.expect("open");
    db.connection()
        .execute_unprepared("CREATE TABLE hits (n INTEGER NOT NULL)")
        .await
        .expect("table");
    (dir, db)
}

async fn rows(db: &SqlDatabase) -> i64 {
    let row = one(
        db.connection(),
        stmt(DbBackend::Sqlite, "SELECT COUNT(*) AS n FROM hits", vec![]),
    )
    .await
    .expect("count")
    .expect("a row");
    get(&row, "n").expect("n")
}

/// Inserts a row, then fails with `fail(attempt)` or commits.
async fn attempt_with(
    db: &SqlDatabase,
    fail: impl Fn(u32) -> Option<StoreError>,
) -> (Result<(), StoreError>, u32) {
    let attempts = AtomicU32::new(0);
    let (attempts_ref, fail) = (&attempts, &fail);
    let result = transact(db.connection(), |txn| async move {
        let attempt = attempts_ref.fetch_add(1, Ordering::SeqCst) + 1;
        exec(
            &txn,
            stmt(
                DbBackend::Sqlite,
                "INSERT INTO hits (n) VALUES ($1)",
                vec![Value::from(attempt)],
            ),
        )
        .await?;
        if let Some(err) = fail(attempt) {
            return Err(err);
        }
        commit(txn).await
    })
    .await;
    (result, attempts.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_conflicting_transaction_runs_again_and_its_failed_attempts_leave_nothing() {
    let (_dir, db) = database().await;
    let (result, attempts) = attempt_with(&db, |n| {
        (n < 3).then(|| failure(if n == 1 { "40001" } else { "40P01" }))
    })
    .await;
    result.expect("the third attempt commits");
    assert_eq!(attempts, 3);
    assert_eq!(rows(&db).await, 1, "the two failed attempts rolled back");
}

#[tokio::test]
async fn a_transaction_that_keeps_conflicting_gives_up_as_unavailable() {
    let (_dir, db) = database().await;
    let (result, attempts) = attempt_with(&db, |_| Some(failure("40001"))).await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))));
    assert_eq!(attempts, TRANSACTION_ATTEMPTS);
    assert_eq!(rows(&db).await, 0);
}

#[tokio::test]
async fn other_failures_are_not_retried() {
    let (_dir, db) = database().await;
    for err in [
        || failure("57P01"),
        || failure("23505"),
        || StoreError::Unavailable(StoreCause::new("no driver error behind it")),
    ] {
        let (result, attempts) = attempt_with(&db, |_| Some(err())).await;
        assert!(result.is_err());
        assert_eq!(attempts, 1);
    }
    assert_eq!(rows(&db).await, 0);
}
