//! A Postgres database of its own for one test: created from
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and dropped when the guard goes, even when the test panicked.

use std::time::Duration;

use agents_adapters::sql::{PoolOptions, connect};
use sea_orm::ConnectionTrait;

/// The server's admin URL.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn required() -> bool {
    std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn admin_pool() -> PoolOptions {
    PoolOptions {
        max_connections: 1,
        connect_timeout: Duration::from_secs(3),
        acquire_timeout: Duration::from_secs(3),
        ..PoolOptions::default()
    }
}

/// A database created for one test.
pub struct TempDatabase {
    name: String,
    url: String,
}

impl TempDatabase {
    /// Creates a uniquely named database; `None` (after printing why) when
    /// Postgres is unreachable, a panic instead when `REQUIRE_POSTGRES=1`.
    pub async fn create() -> Option<Self> {
        let admin = admin_url();
        let db = match connect(&admin, &admin_pool()).await {
            Ok(db) => db,
            Err(e) if required() => {
                panic!("REQUIRE_POSTGRES=1 but Postgres at {admin} is unreachable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "skipping Postgres test: {admin} unreachable ({e}); set REQUIRE_POSTGRES=1 to fail instead"
                );
                return None;
            }
        };
        let name = format!("agents_test_{}", uuid::Uuid::new_v4().simple());
        db.connection()
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        db.close().await;
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin);
        Some(Self {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// The test database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime (or while unwinding): use a thread
        // with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(db) = connect(&admin_url(), &admin_pool()).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = db.connection().execute_unprepared(&sql).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                    db.close().await;
                }
            });
        })
        .join();
    }
}
