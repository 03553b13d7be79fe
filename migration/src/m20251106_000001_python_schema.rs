//! The Python service's schema (Alembic revision `20251106_120000`) and its
//! two seeded plans: on Postgres exactly as that service created it, on
//! SQLite the equivalent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{run_script, timestamp_value};

/// Creates the Python service's tables and seeds `starter` and `pro`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// A seeded plan: code, name, price, seats, web search toggle.
const SEEDED_PLANS: [(&str, &str, i32, i32, bool); 2] = [
    ("starter", "Starter", 0, 1, false),
    ("pro", "Pro", 9900, 5, true),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(
            manager,
            include_str!("sql/m0001_postgres_up.sql"),
            include_str!("sql/m0001_sqlite_up.sql"),
        )
        .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let now = OffsetDateTime::now_utc();
        for (code, name, price_cents, seats, web_search) in SEEDED_PLANS {
            let toggles = serde_json::json!({ "enable_web_search": web_search });
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                r#"INSERT INTO billing_plans
                   (id, code, name, "interval", interval_count, price_cents, currency, trial_days,
                    seat_included, feature_toggles, is_active, created_at, updated_at)
                   VALUES ($1, $2, $3, 'monthly', 1, $4, 'USD', 14, $5, $6, true, $7, $7)"#,
                [
                    Value::from(Uuid::new_v4()),
                    Value::from(code),
                    Value::from(name),
                    Value::from(price_cents),
                    Value::from(seats),
                    Value::Json(Some(Box::new(toggles))),
                    timestamp_value(backend, now),
                ],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let script = include_str!("sql/m0001_down.sql");
        run_script(manager, script, script).await
    }
}
