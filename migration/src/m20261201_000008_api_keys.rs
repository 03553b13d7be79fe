//! API keys: the keys table (hashes only, a unique prefix to find them
//! by), monthly counters per key, and the key that owns a conversation.

use sea_orm_migration::prelude::*;

use crate::sql::run_script;

/// Adds `api_keys`, `api_key_usage` and `agent_conversations.api_key_id`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0008_postgres_up.sql"),
            include_str!("sql/m0008_sqlite_up.sql"),
        )
        .await
    }

    /// Drops every key and counter; conversations keys started stay,
    /// without an owner (visible to owners and admins).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0008_postgres_down.sql"),
            include_str!("sql/m0008_sqlite_down.sql"),
        )
        .await
    }
}
