//! A fresh Postgres database per test, dropped afterwards. Without a
//! reachable Postgres the caller skips, unless `REQUIRE_POSTGRES=1`.

use sea_orm::{ConnectionTrait, Database};

/// A database created for one test.
pub struct TestDatabase {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

/// The server-level URL databases are created from (`TEST_DATABASE_URL`).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDatabase {
    /// Creates the database, or returns `None` (printing why) when Postgres
    /// is unreachable and not required.
    pub async fn create() -> Option<Self> {
        let admin_url = admin_url();
        let admin = match Database::connect(admin_url.as_str()).await {
            Ok(conn) => conn,
            Err(err) => {
                assert!(
                    std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "REQUIRE_POSTGRES=1 but Postgres is unreachable: {err}"
                );
                eprintln!("skipping: Postgres unreachable ({err})");
                return None;
            }
        };
        let name = format!("agents_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or_else(|| admin_url.clone());
        Some(Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        })
    }
}

impl TestDatabase {
    /// URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Whether Redis answers at `url`; panics when it does not and `REQUIRE_REDIS=1`.
pub fn redis_available(url: &str) -> bool {
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    let reachable = std::net::TcpStream::connect(&address).is_ok();
    if !reachable {
        assert!(
            std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"),
            "REQUIRE_REDIS=1 but Redis at {address} is unreachable"
        );
        eprintln!("skipping: Redis unreachable at {address}");
    }
    reachable
}
