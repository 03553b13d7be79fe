//! sea-orm migrations of the agents service: the Python service's schema as
//! our first migration, our own changes after it, and the adoption of a
//! database the Python service created.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adopt;
pub mod cli;
mod guard;
mod m20251106_000001_python_schema;
mod m20251120_000002_accounts;
mod m20251120_000003_tenant_scoped_conversations;
mod m20251120_000004_billing_usage;
mod m20261201_000005_billing_integrity;
mod m20261201_000007_runs;
mod m20261201_000008_api_keys;
mod sql;

pub use adopt::{
    AdoptError, DatabaseState, MigrateReport, PYTHON_ALEMBIC_REVISION, PYTHON_TABLES, inspect,
    migrate, migrate_steps, pending,
};
pub use guard::{Destructive, is_adopted, refusal};
pub use sea_orm_migration::MigratorTrait;
pub use sea_orm_migration::sea_orm;
pub use sql::timestamp_value;

use sea_orm_migration::{MigrationTrait, async_trait};

/// Name of the first migration, recorded as applied when a Python database is adopted.
pub const FIRST_MIGRATION: &str = "m20251106_000001_python_schema";

/// Every migration of the service, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20251106_000001_python_schema::Migration),
            Box::new(m20251120_000002_accounts::Migration),
            Box::new(m20251120_000003_tenant_scoped_conversations::Migration),
            Box::new(m20251120_000004_billing_usage::Migration),
            Box::new(m20261201_000005_billing_integrity::Migration),
            Box::new(m20261201_000007_runs::Migration),
            Box::new(m20261201_000008_api_keys::Migration),
        ]
    }
}
