//! What every SQL store shares: statements, typed bindings, and write
//! transactions (retried when they lose a race).

use std::future::Future;
use std::time::Duration;

use agents_domain::StoreError;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    SqlErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) use super::errors::store_err;
use super::errors::{CarriesStoreError, count};

/// A statement with `$n` parameters; sqlx binds `$n` by number on SQLite too.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// A timestamp bound the same way everywhere (fixed-width text on SQLite so
/// text order is time order).
pub(crate) fn ts(backend: DbBackend, at: OffsetDateTime) -> Value {
    migration::timestamp_value(backend, at)
}

/// An optional timestamp.
pub(crate) fn ts_opt(backend: DbBackend, at: Option<OffsetDateTime>) -> Value {
    match at {
        Some(at) => ts(backend, at),
        None if backend == DbBackend::Sqlite => Value::String(None),
        None => Value::TimeDateTimeWithTimeZone(None),
    }
}

/// A UUID value (a 16-byte blob on SQLite, `uuid` on Postgres).
pub(crate) fn uuid(id: Uuid) -> Value {
    Value::Uuid(Some(id))
}

/// An optional string.
pub(crate) fn opt_str(value: Option<&str>) -> Value {
    Value::String(value.map(str::to_owned))
}

/// An optional i32.
pub(crate) fn opt_i32(value: Option<i32>) -> Value {
    Value::Int(value)
}

/// `FOR UPDATE` on Postgres; nothing on SQLite, whose write transactions
/// already hold the database's single write lock.
pub(crate) fn for_update(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`:
/// a deferred one that reads first and then writes can fail with `BUSY`
/// instead of waiting for the lock.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<DatabaseTransaction, StoreError> {
    let options = TransactionOptions {
        sqlite_transaction_mode: (db.get_database_backend() == DbBackend::Sqlite)
            .then_some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    db.begin_with_options(options).await.map_err(store_err)
}

/// How many times in all a write transaction runs when it keeps losing
/// races (serialization failures, deadlocks).
pub(crate) const TRANSACTION_ATTEMPTS: u32 = 3;

/// Runs `body` in a write transaction ([`begin_write`]) and runs it again,
/// in a new transaction, when it failed with a serialization failure or a
/// deadlock, up to [`TRANSACTION_ATTEMPTS`] times in all. `body` commits
/// (returning early without committing rolls back). Other failures,
/// including a lost connection, are returned as they are: the outcome of a
/// commit whose answer was lost is unknown, so only the caller can tell
/// whether running it again is safe.
pub(crate) async fn transact<T, E, F, Fut>(db: &DatabaseConnection, mut body: F) -> Result<T, E>
where
    F: FnMut(DatabaseTransaction) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<StoreError> + CarriesStoreError,
{
    let mut attempt = 1;
    loop {
        let txn = begin_write(db).await?;
        match body(txn).await {
            Err(err) if err.is_conflict() => {
                if attempt >= TRANSACTION_ATTEMPTS {
                    count("unavailable");
                    tracing::warn!(attempts = attempt, error = ?err.store_error(), "transaction kept conflicting; giving up");
                    return Err(err);
                }
                count("retried");
                tracing::debug!(attempt, "transaction conflicted; running it again");
                // A short, jittered pause so the transactions that collided
                // do not collide again in lockstep.
                let jitter = rand::random_range(0..=20u64);
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// Runs a query expected to return at most one row.
pub(crate) async fn one<C: ConnectionTrait>(
    db: &C,
    statement: Statement,
) -> Result<Option<QueryResult>, StoreError> {
    db.query_one_raw(statement).await.map_err(store_err)
}

/// Runs a query returning rows.
pub(crate) async fn all<C: ConnectionTrait>(
    db: &C,
    statement: Statement,
) -> Result<Vec<QueryResult>, StoreError> {
    db.query_all_raw(statement).await.map_err(store_err)
}

/// Runs a statement and returns the rows it affected.
pub(crate) async fn exec<C: ConnectionTrait>(
    db: &C,
    statement: Statement,
) -> Result<u64, StoreError> {
    db.execute_raw(statement)
        .await
        .map(|r| r.rows_affected())
        .map_err(store_err)
}

/// Commits a transaction.
pub(crate) async fn commit(txn: DatabaseTransaction) -> Result<(), StoreError> {
    txn.commit().await.map_err(store_err)
}

/// The unique constraint a violation names, when the error is one.
pub(crate) fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(message),
        _ => None,
    }
}

/// Whether the error is a foreign-key violation (a referenced row is missing).
pub(crate) fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// Reads a column, mapping a decoding failure to a store error.
pub(crate) fn get<T: sea_orm::TryGetable>(
    row: &QueryResult,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get::<T>("", column).map_err(store_err)
}

#[cfg(test)]
mod tests;
