//! The error classifier against the failures real databases produce: a
//! Postgres backend terminated by an administrator, a real deadlock, SQLite
//! still locked after its busy timeout, a pool with no free connection.

mod contract;

use std::time::{Duration, Instant};

use agents_adapters::sql::{FailureClass, PoolOptions, SqlDatabase, classify, connect};
use agents_domain::StoreError;
use agents_domain::conversation::{ConversationError, ConversationScope, ConversationUpdate};
use agents_domain::{TenantId, UserId};
use contract::postgres::{TempDatabase, admin_url};
use contract::{key, new_tenant, new_user, user_message};
use sea_orm::{
    ConnectionTrait, DbErr, RuntimeErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

fn code_of(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

fn small_pool(acquire: Duration) -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        acquire_timeout: acquire,
        connect_timeout: acquire,
        sqlite_busy_timeout: Duration::from_millis(200),
        ..PoolOptions::default()
    }
}

async fn open_postgres(pool: &PoolOptions) -> Option<(TempDatabase, SqlDatabase)> {
    let temp = TempDatabase::create().await?;
    let db = connect(temp.url(), pool).await.expect("open postgres");
    db.migrate().await.expect("migrate");
    Some((temp, db))
}

async fn open_sqlite(pool: &PoolOptions) -> (tempfile::TempDir, String, SqlDatabase) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/agents.db", dir.path().display());
    let db = connect(&url, pool).await.expect("open sqlite");
    db.migrate().await.expect("migrate");
    (dir, url, db)
}

/// A registered user's scope on `db`.
async fn scope_on(db: &SqlDatabase) -> ConversationScope {
    let (user, tenant) = db
        .stores()
        .accounts
        .register(new_user("alice"), new_tenant("alice-home"))
        .await
        .expect("register");
    scope(tenant.id, user.id)
}

fn scope(tenant_id: TenantId, user_id: UserId) -> ConversationScope {
    ConversationScope {
        tenant_id,
        user_id,
        api_key: None,
        include_unowned: false,
    }
}

fn update() -> ConversationUpdate {
    ConversationUpdate {
        entrypoint: "triage".into(),
        ..ConversationUpdate::default()
    }
}

fn assert_unavailable(result: Result<impl std::fmt::Debug, ConversationError>) -> String {
    match result {
        Err(ConversationError::Store(StoreError::Unavailable(cause))) => cause.to_string(),
        other => panic!("expected the store to be unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_postgres_connection_terminated_by_an_administrator_is_unavailable_then_heals() {
    let Some((temp, db)) = open_postgres(&small_pool(Duration::from_secs(3))).await else {
        return;
    };
    let name = temp.url().rsplit('/').next().unwrap_or_default().to_owned();
    let conn = db.connection().clone();
    let sleeper = tokio::spawn(async move { conn.execute_unprepared("SELECT pg_sleep(30)").await });
    let admin = connect(&admin_url(), &small_pool(Duration::from_secs(3)))
        .await
        .expect("admin");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let terminated = admin
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = '{name}' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
                ),
            ))
            .await
            .expect("terminate");
        if !terminated.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sleeping query never showed up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = sleeper
        .await
        .expect("join")
        .expect_err("the query was terminated");
    assert_eq!(code_of(&err).as_deref(), Some("57P01"), "{err}");
    assert_eq!(classify(&err), FailureClass::Unavailable);
    // The dead connection is replaced: the next call works.
    let s = scope_on(&db).await;
    db.stores()
        .conversations
        .append(s, &key("after"), user_message("hello", 1), update())
        .await
        .expect("healed");
}

#[tokio::test]
async fn a_real_postgres_deadlock_is_a_conflict() {
    let pool = PoolOptions {
        max_connections: 2,
        ..PoolOptions::default()
    };
    let Some((_temp, db)) = open_postgres(&pool).await else {
        return;
    };
    let conn = db.connection();
    conn.execute_unprepared(
        "CREATE TABLE pair (id int PRIMARY KEY, v int NOT NULL); INSERT INTO pair VALUES (1, 0), (2, 0)",
    )
    .await
    .expect("table");
    let (a, b) = (
        conn.begin().await.expect("a"),
        conn.begin().await.expect("b"),
    );
    a.execute_unprepared("UPDATE pair SET v = 1 WHERE id = 1")
        .await
        .expect("a locks 1");
    b.execute_unprepared("UPDATE pair SET v = 1 WHERE id = 2")
        .await
        .expect("b locks 2");
    // Each now waits for the other's row: Postgres aborts one of them.
    let (ra, rb) = tokio::join!(
        a.execute_unprepared("UPDATE pair SET v = 2 WHERE id = 2"),
        b.execute_unprepared("UPDATE pair SET v = 2 WHERE id = 1"),
    );
    let err = match (ra, rb) {
        (Err(err), Ok(_)) | (Ok(_), Err(err)) => err,
        other => panic!("expected exactly one deadlock victim, got {other:?}"),
    };
    assert_eq!(code_of(&err).as_deref(), Some("40P01"), "{err}");
    assert_eq!(classify(&err), FailureClass::Conflict);
}

#[tokio::test]
async fn sqlite_still_locked_after_the_busy_timeout_is_unavailable_then_heals() {
    let pool = small_pool(Duration::from_secs(3));
    let (_dir, url, db) = open_sqlite(&pool).await;
    let s = scope_on(&db).await;
    // Another process (here: another pool on the same file) holds the write lock.
    let other = connect(&url, &pool).await.expect("second pool");
    let holder = other
        .connection()
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .expect("write lock");
    let store = db.stores().conversations;
    let started = Instant::now();
    let cause = assert_unavailable(
        store
            .append(s, &key("locked"), user_message("hello", 1), update())
            .await,
    );
    assert!(cause.contains("code 5"), "{cause}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered after the busy timeout, not later: {:?}",
        started.elapsed()
    );
    holder.rollback().await.expect("release");
    store
        .append(s, &key("locked"), user_message("hello", 2), update())
        .await
        .expect("the lock is free again");
}

async fn exhausted_pool_fails_fast(db: &SqlDatabase) {
    let s = scope_on(db).await;
    let held = db
        .connection()
        .begin()
        .await
        .expect("take the only connection");
    let store = db.stores().conversations;
    let started = Instant::now();
    assert_unavailable(store.find(s, &key("any")).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "waited {waited:?} for an acquire timeout of 300 ms"
    );
    held.rollback().await.expect("give it back");
    store
        .find(s, &key("any"))
        .await
        .expect("a connection again");
}

#[tokio::test]
async fn an_exhausted_sqlite_pool_answers_unavailable_within_the_acquire_timeout() {
    let (_dir, _url, db) = open_sqlite(&small_pool(Duration::from_millis(300))).await;
    exhausted_pool_fails_fast(&db).await;
}

#[tokio::test]
async fn an_exhausted_postgres_pool_answers_unavailable_within_the_acquire_timeout() {
    let Some((_temp, db)) = open_postgres(&small_pool(Duration::from_millis(300))).await else {
        return;
    };
    exhausted_pool_fails_fast(&db).await;
}
