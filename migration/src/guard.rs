//! What keeps an operator from dropping the Python service's tables: the
//! destructive commands (`down` past our first migration, `reset`, `fresh`,
//! `refresh`) are refused on a database we adopted unless forced.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::{Migrator, PYTHON_ALEMBIC_REVISION};

/// A command that rolls migrations back or drops tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destructive {
    /// Roll back the last N migrations.
    Down(u32),
    /// Roll back every migration.
    Reset,
    /// Drop every table, then migrate.
    Fresh,
    /// Roll back every migration, then migrate.
    Refresh,
}

impl Destructive {
    fn name(self) -> String {
        match self {
            Destructive::Down(n) => format!("down -n {n}"),
            Destructive::Reset => "reset".into(),
            Destructive::Fresh => "fresh".into(),
            Destructive::Refresh => "refresh".into(),
        }
    }
}

/// Whether this database was adopted from the Python service: its
/// `alembic_version` (which adoption keeps) records the Python revision.
pub async fn is_adopted(db: &DatabaseConnection) -> Result<bool, DbErr> {
    if !SchemaManager::new(db).has_table("alembic_version").await? {
        return Ok(false);
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version_num FROM alembic_version",
        ))
        .await?;
    for row in rows {
        if row.try_get::<String>("", "version_num")? == PYTHON_ALEMBIC_REVISION {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `Some(reason)` when `command` would drop tables the Python service
/// created on an adopted database (it must then be refused without
/// `--force`); `None` when it may run. Reads only.
pub async fn refusal(
    db: &DatabaseConnection,
    command: Destructive,
) -> Result<Option<String>, DbErr> {
    if !is_adopted(db).await? {
        return Ok(None);
    }
    let drops_python_tables = match command {
        Destructive::Down(n) => {
            let applied = Migrator::get_applied_migrations_read_only(db).await?.len();
            // Rolling back our first migration drops the tables it stands for.
            usize::try_from(n).unwrap_or(usize::MAX) >= applied && applied > 0
        }
        Destructive::Reset | Destructive::Fresh | Destructive::Refresh => true,
    };
    Ok(drops_python_tables.then(|| {
        format!(
            "refusing `{}`: this database was adopted from the Python service (alembic {PYTHON_ALEMBIC_REVISION}) \
             and the command would drop its tables and every conversation in them; pass --force to do it anyway",
            command.name()
        )
    }))
}
