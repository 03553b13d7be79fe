//! Opening the database from a URL, migrating it, and building the stores:
//! everything the server needs without depending on sea-orm itself.

use std::sync::Arc;
use std::time::Duration;

use agents_domain::account::{AccountStore, RefreshTokenStore};
use agents_domain::billing::BillingStore;
use agents_domain::conversation::ConversationStore;
use agents_domain::health::HealthProbe;
use agents_domain::run::RunStore;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use super::{
    SeaOrmAccountStore, SeaOrmBillingStore, SeaOrmConversationStore, SeaOrmRefreshTokenStore,
    SqlHealthProbe,
};

pub use migration::MigrateReport;

/// Pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once (SQLite in memory always uses one).
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long a request may wait for a free connection.
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this long.
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this long.
    pub max_lifetime: Option<Duration>,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is neither `sqlite:` nor `postgres(ql)://`.
    #[error("unsupported database URL scheme (use sqlite:// or postgres://)")]
    UnsupportedScheme,
    /// The SQLite file's directory could not be created.
    #[error("cannot create directory {path}: {message}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The database did not accept the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

/// Why migrating failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database is in a state we will not touch (see the message); nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The database failed while migrating (on Postgres nothing was committed).
    #[error("{0}")]
    Failed(String),
}

/// An open database, Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct SqlDatabase {
    db: DatabaseConnection,
}

/// Connections of the pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Checked out by a query.
    pub in_use: u32,
    /// Open and idle.
    pub idle: u32,
}

/// Every SQL-backed port, sharing one pool.
#[derive(Clone)]
pub struct SqlStores {
    /// Conversations and messages.
    pub conversations: Arc<dyn ConversationStore>,
    /// Users, tenants, memberships.
    pub accounts: Arc<dyn AccountStore>,
    /// Refresh tokens.
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// Plans, subscriptions, usage.
    pub billing: Arc<dyn BillingStore>,
    /// Readiness probe (`SELECT 1`).
    pub probe: Arc<dyn HealthProbe>,
    /// API keys and their counters.
    pub api_keys: Arc<dyn agents_domain::api_key::ApiKeyStore>,
    /// Run rows.
    pub runs: Arc<dyn RunStore>,
}

/// Opens a pool on `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`).
/// SQLite: the file and its directory are created, WAL journal, a busy
/// timeout and foreign keys on. Statement logging is off. The first
/// connection is opened now, so a bad URL fails here.
pub async fn connect(url: &str, options: &PoolOptions) -> Result<SqlDatabase, ConnectError> {
    let mut connect = ConnectOptions::new(url.to_owned());
    connect
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections)
        .connect_timeout(options.connect_timeout)
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(options.idle_timeout)
        .max_lifetime(options.max_lifetime)
        .sqlx_logging(false);
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default();
        let in_memory =
            path.is_empty() || path.contains(":memory:") || rest.contains("mode=memory");
        if in_memory {
            // Each connection of an in-memory database is a different database.
            connect
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            create_parent_dir(path)?;
        }
        let busy = options.sqlite_busy_timeout;
        connect.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .busy_timeout(busy)
                .foreign_keys(true)
                .create_if_missing(true);
            if in_memory {
                o
            } else {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
            }
        });
    } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(ConnectError::UnsupportedScheme);
    }
    let db = Database::connect(connect)
        .await
        .map_err(|e| ConnectError::Connect(e.to_string()))?;
    Ok(SqlDatabase { db })
}

fn create_parent_dir(path: &str) -> Result<(), ConnectError> {
    match std::path::Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|e| ConnectError::CreateDir {
                path: parent.display().to_string(),
                message: e.to_string(),
            })
        }
        _ => Ok(()),
    }
}

impl SqlDatabase {
    /// `"postgres"` or `"sqlite"`.
    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// Applies pending migrations, adopting a database the Python service
    /// created; refuses any other unexpected state without changing it.
    pub async fn migrate(&self) -> Result<MigrateReport, MigrateError> {
        migration::migrate(&self.db).await.map_err(|e| match e {
            migration::AdoptError::Db(db) => {
                MigrateError::Failed(format!("migration failed: {db}"))
            }
            refused => MigrateError::Refused(refused.to_string()),
        })
    }

    /// How many migrations are not applied (the server refuses to start on
    /// Postgres when this is not zero and auto-migration is off).
    pub async fn pending_migrations(&self) -> Result<usize, MigrateError> {
        migration::pending(&self.db)
            .await
            .map_err(|e| MigrateError::Failed(e.to_string()))
    }

    /// The stores on this pool.
    pub fn stores(&self) -> SqlStores {
        SqlStores {
            conversations: Arc::new(SeaOrmConversationStore::new(self.db.clone())),
            accounts: Arc::new(SeaOrmAccountStore::new(self.db.clone())),
            refresh_tokens: Arc::new(SeaOrmRefreshTokenStore::new(self.db.clone())),
            billing: Arc::new(SeaOrmBillingStore::new(self.db.clone())),
            probe: Arc::new(SqlHealthProbe::new(self.db.clone())),
            api_keys: Arc::new(super::SeaOrmApiKeyStore::new(self.db.clone())),
            runs: Arc::new(super::SeaOrmRunStore::new(self.db.clone())),
        }
    }

    /// The pool's connections now, for the pool gauges; `None` for a
    /// connection that is not a sqlx pool.
    pub fn pool_usage(&self) -> Option<PoolUsage> {
        use sea_orm::DatabaseConnectionType as Kind;
        let (open, idle) = match &self.db.inner {
            // The accessors panic on another variant; each is only called
            // in the arm that matched its own.
            Kind::SqlxPostgresPoolConnection(_) => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Kind::SqlxSqlitePoolConnection(_) => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => return None,
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(open);
        Some(PoolUsage {
            in_use: open - idle,
            idle,
        })
    }

    /// The underlying connection, for the stores' constructors and tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(self) {
        let _ = self.db.close().await;
    }
}
