//! Migrating a database whatever state it starts in: empty, already ours, or
//! created by the Python service (adopted without touching its tables).
//! Anything else is refused before the first write.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value,
};

use crate::{FIRST_MIGRATION, Migrator};

/// The only Alembic revision we know how to adopt.
pub const PYTHON_ALEMBIC_REVISION: &str = "20251106_120000";

/// The tables the Python service's migration created.
pub const PYTHON_TABLES: [&str; 9] = [
    "tenant_accounts",
    "billing_plans",
    "users",
    "plan_features",
    "tenant_subscriptions",
    "subscription_invoices",
    "subscription_usage",
    "agent_conversations",
    "agent_messages",
];

/// Tables only our later migrations create.
const OUR_TABLES: [&str; 7] = [
    "tenant_memberships",
    "refresh_tokens",
    "usage_events",
    "usage_counters",
    "stripe_events",
    "api_keys",
    "api_key_usage",
];

/// What a database holds before we migrate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    /// No tables of ours or the Python service's: migrate from scratch.
    Empty,
    /// Our migration history exists: apply what is pending.
    Managed,
    /// The Python service's schema at the revision we know: adopt it.
    Python,
}

/// Why a database was refused (nothing was changed) or migration failed.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// `alembic_version` holds a revision we do not know.
    #[error(
        "refusing to migrate: alembic_version is {found:?}, but only the Python service's revision {PYTHON_ALEMBIC_REVISION} can be adopted"
    )]
    UnknownAlembicRevision {
        /// The revisions found.
        found: Vec<String>,
    },
    /// The Python revision is recorded but some of its tables are missing.
    #[error(
        "refusing to migrate: alembic revision {PYTHON_ALEMBIC_REVISION} is recorded but tables {missing:?} are missing"
    )]
    MissingTables {
        /// The missing tables.
        missing: Vec<String>,
    },
    /// Tables exist without any migration history we recognise.
    #[error(
        "refusing to migrate: tables {present:?} exist but neither seaql_migrations nor alembic_version records how they were made"
    )]
    UnmanagedTables {
        /// The tables found.
        present: Vec<String>,
    },
    /// The database failed.
    #[error("migration failed: {0}")]
    Db(#[from] DbErr),
}

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrateReport {
    /// Whether a Python database was adopted in this run.
    pub adopted: bool,
    /// Names of the migrations applied in this run (the adopted first one excluded).
    pub applied: Vec<String>,
}

/// Reads the database's state without changing anything.
pub async fn inspect(db: &DatabaseConnection) -> Result<DatabaseState, AdoptError> {
    let manager = SchemaManager::new(db);
    if manager.has_table("seaql_migrations").await? {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM seaql_migrations",
            ))
            .await?;
        let count: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        if count > 0 {
            return Ok(DatabaseState::Managed);
        }
    }
    let mut present = Vec::new();
    for table in PYTHON_TABLES.iter().chain(OUR_TABLES.iter()) {
        if manager.has_table(table).await? {
            present.push((*table).to_owned());
        }
    }
    if manager.has_table("alembic_version").await? {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT version_num FROM alembic_version",
            ))
            .await?;
        let found = rows
            .iter()
            .map(|r| r.try_get::<String>("", "version_num"))
            .collect::<Result<Vec<_>, _>>()?;
        if found != [PYTHON_ALEMBIC_REVISION] {
            return Err(AdoptError::UnknownAlembicRevision { found });
        }
        let missing: Vec<String> = PYTHON_TABLES
            .iter()
            .filter(|t| !present.iter().any(|p| p == *t))
            .map(|t| (*t).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(AdoptError::MissingTables { missing });
        }
        if present.iter().any(|p| OUR_TABLES.contains(&p.as_str())) {
            return Err(AdoptError::UnmanagedTables { present });
        }
        return Ok(DatabaseState::Python);
    }
    if present.is_empty() {
        Ok(DatabaseState::Empty)
    } else {
        Err(AdoptError::UnmanagedTables { present })
    }
}

/// Applies every pending migration, adopting a Python database first. Used
/// by `migration up` and the server's auto-migrate alike.
pub async fn migrate(db: &DatabaseConnection) -> Result<MigrateReport, AdoptError> {
    migrate_steps(db, None).await
}

/// Like [`migrate`], applying at most `steps` migrations (adoption itself is not a step).
pub async fn migrate_steps(
    db: &DatabaseConnection,
    steps: Option<u32>,
) -> Result<MigrateReport, AdoptError> {
    let state = inspect(db).await?;
    let before = applied_names(db).await?;
    let adopted = state == DatabaseState::Python;
    if adopted && db.get_database_backend() == DbBackend::Postgres {
        // One transaction: the adoption record and every later migration
        // commit together or not at all, so a failure leaves the Python
        // database exactly as it was.
        let txn = db.begin().await?;
        record_first_migration(&txn).await?;
        Migrator::up(&txn, steps).await?;
        txn.commit().await?;
    } else {
        if adopted {
            record_first_migration(db).await?;
        }
        Migrator::up(db, steps).await?;
    }
    let after = applied_names(db).await?;
    let applied = after
        .into_iter()
        .filter(|name| !(before.contains(name) || (adopted && name == FIRST_MIGRATION)))
        .collect();
    Ok(MigrateReport { adopted, applied })
}

/// How many migrations are not applied yet (all of them on an empty or
/// unadopted database). Changes nothing.
pub async fn pending(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations_read_only(db).await?.len())
}

async fn applied_names(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_applied_migrations_read_only(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// Creates `seaql_migrations` and records the first migration as applied:
/// the Python service already created what it would.
async fn record_first_migration<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    Migrator::install(db).await?;
    let applied_at = time::OffsetDateTime::now_utc().unix_timestamp();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ($1, $2)",
        [Value::from(FIRST_MIGRATION), Value::from(applied_at)],
    ))
    .await?;
    Ok(())
}
