//! Store selection: in memory, the embedded SQLite default, or the
//! configured database, migrated according to policy.

use std::sync::Arc;
use std::time::Duration;

use agents_adapters::memory::{
    InMemoryAccountStore, InMemoryApiKeyStore, InMemoryBillingStore, InMemoryConversationStore,
    InMemoryRefreshTokenStore, InMemoryRunStore,
};
use agents_adapters::sql::{PoolOptions, SqlDatabase, connect};
use agents_domain::account::{AccountStore, RefreshTokenStore};
use agents_domain::api_key::ApiKeyStore;
use agents_domain::billing::BillingStore;
use agents_domain::conversation::ConversationStore;
use agents_domain::health::HealthProbe;
use agents_domain::run::RunStore;

use super::StartupError;
use crate::config::Settings;

/// The stores the services run on: the one bundle of store ports, for the
/// server, the tests and embedders.
#[derive(Clone)]
pub struct Stores {
    /// Conversations and messages.
    pub conversations: Arc<dyn ConversationStore>,
    /// Users, tenants, memberships.
    pub accounts: Arc<dyn AccountStore>,
    /// Refresh tokens.
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// Plans, subscriptions, usage, processed webhook events.
    pub billing: Arc<dyn BillingStore>,
    /// API keys and their monthly counters.
    pub api_keys: Arc<dyn ApiKeyStore>,
    /// Run rows.
    pub runs: Arc<dyn RunStore>,
    /// Readiness probe of the database (`None` in memory).
    pub probe: Option<Arc<dyn HealthProbe>>,
    /// For the start-up log line (never contains credentials).
    pub description: String,
    /// The open database, closed on shutdown.
    pub database: Option<SqlDatabase>,
    /// Whatever must live as long as the stores (a scratch directory or
    /// database of a test).
    pub keep_alive: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Stores {
    /// Fresh in-memory stores (nothing survives the process).
    pub fn in_memory() -> Self {
        let accounts: Arc<dyn AccountStore> = Arc::new(InMemoryAccountStore::new());
        Self {
            conversations: Arc::new(InMemoryConversationStore::new()),
            api_keys: Arc::new(InMemoryApiKeyStore::new(accounts.clone())),
            accounts,
            refresh_tokens: Arc::new(InMemoryRefreshTokenStore::new()),
            billing: Arc::new(InMemoryBillingStore::new()),
            runs: Arc::new(InMemoryRunStore::new()),
            probe: None,
            description: "in-memory".into(),
            database: None,
            keep_alive: None,
        }
    }

    /// Opens the database at `url` with default pool options and migrates it
    /// (tests and embedders; the server applies its migration policy).
    pub async fn open(url: &str) -> Result<Self, StartupError> {
        Self::open_with(url, &PoolOptions::default()).await
    }

    /// [`open`](Self::open) with `options` for the pool.
    pub async fn open_with(url: &str, options: &PoolOptions) -> Result<Self, StartupError> {
        let database = connect(url, options)
            .await
            .map_err(|e| StartupError::Store(format!("cannot open the database: {e}")))?;
        database
            .migrate()
            .await
            .map_err(|e| StartupError::Store(format!("migration failed: {e}")))?;
        Ok(Self::on(database))
    }

    /// The stores of an open database.
    pub fn on(database: SqlDatabase) -> Self {
        let stores = database.stores();
        Self {
            conversations: stores.conversations,
            accounts: stores.accounts,
            refresh_tokens: stores.refresh_tokens,
            billing: stores.billing,
            api_keys: stores.api_keys,
            runs: stores.runs,
            probe: Some(stores.probe),
            description: database.backend_name().to_owned(),
            database: Some(database),
            keep_alive: None,
        }
    }

    /// Keeps `guard` alive as long as these stores.
    pub fn keeping(mut self, guard: impl std::any::Any + Send + Sync) -> Self {
        self.keep_alive = Some(Arc::new(guard));
        self
    }

    /// Opens the configured stores and applies the migration policy: SQLite
    /// migrates on start by default; Postgres only with `AUTO_RUN_MIGRATIONS`,
    /// otherwise pending migrations stop the start.
    pub async fn configured(settings: &Settings) -> Result<Self, StartupError> {
        open(settings).await
    }
}

/// The database URL: configured, or the SQLite file in the data directory.
pub fn database_url(settings: &Settings) -> String {
    match &settings.database_url {
        Some(url) => url.expose().to_owned(),
        None => format!(
            "sqlite://{}?mode=rwc",
            settings.data_dir.join("agents.db").display()
        ),
    }
}

fn pool_options(settings: &Settings) -> PoolOptions {
    // One bound for both waits: a free connection, or a new one while the
    // database is down or restarting. Short, so an outage answers 503
    // promptly instead of piling requests up.
    let acquire = Duration::from_secs_f64(settings.database_acquire_timeout);
    if let Some(ignored) = settings.database_pool_timeout {
        tracing::warn!(
            database_pool_timeout = ignored,
            database_acquire_timeout = settings.database_acquire_timeout,
            "DATABASE_POOL_TIMEOUT (the Python service's setting) is ignored; \
             DATABASE_ACQUIRE_TIMEOUT bounds the wait for a database connection"
        );
    }
    PoolOptions {
        max_connections: settings.database_pool_size + settings.database_max_overflow,
        min_connections: 0,
        connect_timeout: acquire,
        acquire_timeout: acquire,
        idle_timeout: Some(Duration::from_secs(600)),
        max_lifetime: Some(Duration::from_secs(settings.database_pool_recycle.max(1))),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

async fn open(settings: &Settings) -> Result<Stores, StartupError> {
    if settings.use_in_memory_repo {
        return Ok(Stores::in_memory());
    }
    let url = database_url(settings);
    let database = connect(&url, &pool_options(settings))
        .await
        .map_err(|e| StartupError::Store(format!("cannot open the database: {e}")))?;
    let is_sqlite = database.backend_name() == "sqlite";
    let auto_migrate = settings.auto_run_migrations.unwrap_or(is_sqlite);
    if auto_migrate {
        let report = database
            .migrate()
            .await
            .map_err(|e| StartupError::Store(format!("migration failed: {e}")))?;
        tracing::info!(?report, "database migrated");
    } else {
        let pending = database
            .pending_migrations()
            .await
            .map_err(|e| StartupError::Store(format!("cannot read the migration state: {e}")))?;
        if pending > 0 {
            return Err(StartupError::Store(format!(
                "the database has {pending} pending migration(s): run `cargo run -p migration -- up` \
                 (or `migration up` in the image) first, or set AUTO_RUN_MIGRATIONS=true"
            )));
        }
    }
    Ok(Stores::on(database))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_waits_the_acquire_timeout_whatever_the_python_pool_timeout_says() {
        let settings = Settings {
            database_acquire_timeout: 1.5,
            database_pool_timeout: Some(30.0),
            ..Settings::default()
        };
        let options = pool_options(&settings);
        assert_eq!(options.acquire_timeout, Duration::from_millis(1500));
        assert_eq!(options.connect_timeout, Duration::from_millis(1500));
    }
}
