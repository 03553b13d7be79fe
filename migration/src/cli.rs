//! The migration CLI: `migration up | down [-n N] | status | fresh | refresh | reset [--force]`
//! against `DATABASE_URL` (default: the SQLite file `./data/agents.db`).

use std::process::ExitCode;

use crate::sea_orm::{ConnectOptions, Database, DatabaseConnection};
use crate::{Destructive, Migrator, MigratorTrait};
use clap::{Parser, Subcommand};

/// Where the server keeps its data when no `DATABASE_URL` is given.
const DEFAULT_DATABASE_URL: &str = "sqlite://./data/agents.db?mode=rwc";

#[derive(Parser)]
#[command(
    name = "migration",
    about = "Migrates the agents service's database (DATABASE_URL)."
)]
struct Cli {
    /// Database URL; `sqlite://PATH?mode=rwc` or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    /// Run a destructive command even on a database adopted from the
    /// Python service (its tables and conversations are dropped).
    #[arg(long, global = true)]
    force: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations (adopting a Python service database first).
    Up {
        /// Apply at most N migrations.
        #[arg(short = 'n', long)]
        num: Option<u32>,
    },
    /// Roll back the last N migrations (default 1).
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        num: u32,
    },
    /// Show each migration and whether it is applied.
    Status,
    /// Drop every table, then apply all migrations.
    Fresh,
    /// Roll back all migrations, then apply them again.
    Refresh,
    /// Roll back all migrations.
    Reset,
}

/// Parses the command line and runs it: the `migration` binary's `main`.
pub fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_cli())
}

async fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    let db = match connect(&cli.database_url).await {
        Ok(db) => db,
        Err(message) => {
            eprintln!(
                "error: cannot open database {}: {message}",
                redact(&cli.database_url)
            );
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Up { num: None });
    if !cli.force {
        match refusal(&db, &command).await {
            Ok(None) => {}
            Ok(Some(reason)) => {
                eprintln!("error: {reason}");
                return ExitCode::FAILURE;
            }
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    match run(&db, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why `command` may not run on this database without `--force`, if it may not.
async fn refusal(db: &DatabaseConnection, command: &Command) -> Result<Option<String>, String> {
    let destructive = match command {
        Command::Down { num } => Destructive::Down(*num),
        Command::Reset => Destructive::Reset,
        Command::Fresh => Destructive::Fresh,
        Command::Refresh => Destructive::Refresh,
        Command::Up { .. } | Command::Status => return Ok(None),
    };
    crate::refusal(db, destructive)
        .await
        .map_err(|e| e.to_string())
}

async fn run(db: &DatabaseConnection, command: Command) -> Result<(), String> {
    match command {
        Command::Up { num } => {
            let report = crate::migrate_steps(db, num)
                .await
                .map_err(|e| e.to_string())?;
            if report.adopted {
                println!(
                    "adopted the Python service's database (alembic {})",
                    crate::PYTHON_ALEMBIC_REVISION
                );
            }
            if report.applied.is_empty() {
                println!("nothing to apply: the database is up to date");
            }
            for name in report.applied {
                println!("applied {name}");
            }
        }
        Command::Down { num } => Migrator::down(db, Some(num))
            .await
            .map_err(|e| e.to_string())?,
        Command::Status => {
            let state = crate::inspect(db).await.map_err(|e| e.to_string())?;
            println!("database state: {state:?}");
            for m in Migrator::get_migration_with_status_read_only(db)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("{:<50} {}", m.name(), m.status());
            }
        }
        Command::Fresh => Migrator::fresh(db).await.map_err(|e| e.to_string())?,
        Command::Refresh => {
            Migrator::down(db, None).await.map_err(|e| e.to_string())?;
            crate::migrate(db).await.map_err(|e| e.to_string())?;
        }
        Command::Reset => Migrator::reset(db).await.map_err(|e| e.to_string())?,
    }
    Ok(())
}

/// Connects once, creating the SQLite file's directory, so a bad URL gives
/// one clear line instead of a panic.
async fn connect(url: &str) -> Result<DatabaseConnection, String> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        if let Some(parent) = std::path::Path::new(path).parent()
            && !path.is_empty()
            && path != ":memory:"
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
    } else if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err("unsupported URL scheme (use sqlite:// or postgres://)".to_owned());
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(1)
        .connect_timeout(std::time::Duration::from_secs(5))
        .acquire_timeout(std::time::Duration::from_secs(5));
    let db = Database::connect(options)
        .await
        .map_err(|e| e.to_string())?;
    db.ping().await.map_err(|e| e.to_string())?;
    Ok(db)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
