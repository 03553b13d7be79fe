//! Runs: one row per accepted chat turn (status, times, agent, last event
//! id, owning process and lease), so a turn can be watched, reattached to
//! and stopped apart from its request. `agent_conversations.last_run_id`
//! and `agent_messages.run_id` (the Python columns) hold the run's id.

use sea_orm_migration::prelude::*;

use crate::sql::run_script;

/// Adds the `agent_runs` table.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0007_postgres_up.sql"),
            include_str!("sql/m0007_sqlite_up.sql"),
        )
        .await
    }

    /// Drops the run rows; stored messages keep their `run_id`.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0007_down.sql"),
            include_str!("sql/m0007_down.sql"),
        )
        .await
    }
}
