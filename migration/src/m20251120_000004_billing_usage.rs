//! Billing: one live subscription per tenant (partial unique index), usage
//! events and counters keyed by tenant, processed Stripe events, plan price
//! ids, and the `messages`/`tokens` features of the seeded plans.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};
use time::OffsetDateTime;

use crate::sql::{run_script, timestamp_value};

/// Adds usage, counters, webhook events and live-subscription uniqueness.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Features every seeded plan gets, without limits until configured.
const SEEDED_FEATURES: [(&str, &str); 2] = [("messages", "Messages"), ("tokens", "Tokens")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0004_postgres_up.sql"),
            include_str!("sql/m0004_sqlite_up.sql"),
        )
        .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let now = OffsetDateTime::now_utc();
        for (key, name) in SEEDED_FEATURES {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO plan_features (plan_id, feature_key, display_name, is_metered, created_at)
                 SELECT id, $1, $2, false, $3 FROM billing_plans WHERE code IN ('starter', 'pro')
                 ON CONFLICT (plan_id, feature_key) DO NOTHING",
                [Value::from(key), Value::from(name), timestamp_value(backend, now)],
            ))
            .await?;
        }
        Ok(())
    }

    /// Fails when a tenant has two subscriptions with the same status (the
    /// older constraint cannot hold).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM plan_features WHERE feature_key IN ('messages', 'tokens')
                 AND hard_limit IS NULL AND soft_limit IS NULL
                 AND plan_id IN (SELECT id FROM billing_plans WHERE code IN ('starter', 'pro'))",
            )
            .await?;
        run_script(
            manager,
            include_str!("sql/m0004_postgres_down.sql"),
            include_str!("sql/m0004_sqlite_down.sql"),
        )
        .await
    }
}
