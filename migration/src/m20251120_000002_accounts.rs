//! Accounts: usernames, emails and password hashes on `users`, a nullable
//! home tenant, roles in `tenant_memberships`, and hashed refresh tokens.

use sea_orm_migration::prelude::*;

use crate::sql::run_script;

/// Adds accounts, memberships and refresh tokens. On SQLite its script
/// manages its own transaction (sea-orm runs SQLite migrations outside one),
/// because foreign keys can only be switched off outside a transaction.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0002_postgres_up.sql"),
            include_str!("sql/m0002_sqlite_up.sql"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0002_postgres_down.sql"),
            include_str!("sql/m0002_sqlite_down.sql"),
        )
        .await
    }
}
