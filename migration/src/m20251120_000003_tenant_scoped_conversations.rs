//! Conversation ids scoped by tenant: unique `(tenant_id, conversation_key)`
//! instead of a global key, and the index the conversation list pages on.

use sea_orm_migration::prelude::*;

use crate::sql::run_script;

/// Scopes conversation keys by tenant.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0003_postgres_up.sql"),
            include_str!("sql/m0003_sqlite_up.sql"),
        )
        .await
    }

    /// Fails when two tenants now share a key (the global constraint cannot hold).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0003_postgres_down.sql"),
            include_str!("sql/m0003_sqlite_down.sql"),
        )
        .await
    }
}
