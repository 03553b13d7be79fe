//! Scratch stores: in memory, on a fresh SQLite file, or on a fresh
//! Postgres database (skipped, with the reason printed, when Postgres is
//! unreachable, unless `REQUIRE_POSTGRES=1`).

use agents_adapters::sql::PoolOptions;
use agents_server::Stores;

use crate::postgres::TestDatabase;

/// Pool settings for tests: enough connections for the concurrency tests.
pub fn pool() -> PoolOptions {
    PoolOptions {
        max_connections: 8,
        ..PoolOptions::default()
    }
}

/// Fresh in-memory stores.
pub fn memory_stores() -> Stores {
    Stores::in_memory()
}

/// The SQL stores on a fresh, migrated SQLite file (in a nested directory
/// the store creates).
pub async fn sqlite_stores() -> Stores {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/nested/agents.db", dir.path().display());
    let stores = Stores::open_with(&url, &pool())
        .await
        .expect("sqlite opens and migrates");
    stores.keeping(dir)
}

/// The SQL stores on a fresh, migrated Postgres database, or `None` (skip)
/// when Postgres is unreachable and not required.
pub async fn postgres_stores() -> Option<Stores> {
    let database = TestDatabase::create().await?;
    let stores = Stores::open_with(&database.url, &pool())
        .await
        .expect("postgres opens and migrates");
    Some(stores.keeping(database))
}
