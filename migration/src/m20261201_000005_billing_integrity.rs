//! Billing integrity: versioned subscription rows with the time of the
//! last processor event applied, and a billing row per tenant (quota
//! window, processor customer, trial used), back-filled from the
//! subscriptions already stored.

use sea_orm_migration::prelude::*;

use crate::sql::run_script;

/// Adds subscription versions and the tenant billing rows.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0005_postgres_up.sql"),
            include_str!("sql/m0005_sqlite_up.sql"),
        )
        .await
    }

    /// Drops the tenant billing rows: quota windows, customer ids and
    /// used trials are forgotten.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0005_postgres_down.sql"),
            include_str!("sql/m0005_sqlite_down.sql"),
        )
        .await
    }
}
