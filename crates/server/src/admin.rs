//! Operator commands that act on the stores directly. Each prints one JSON
//! object on success; a failure is one line naming the problem.

mod api_key;
mod tenant;

use std::io::BufRead;

use agents_application::accounts::{OperatorError, RegisterInput};
use serde_json::{Value, json};

use crate::cli::{CreateUser, UserRef};
use crate::config::Settings;
use crate::startup::App;

pub use api_key::api_key_command;
pub use tenant::tenant_command;

/// Why an operator command failed: the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(String);

impl From<OperatorError> for CommandError {
    fn from(err: OperatorError) -> Self {
        Self(err.to_string())
    }
}

/// Opens the stores, runs `body` on the services, closes the database and
/// prints the JSON it returns.
fn run<F>(settings: Settings, body: F) -> Result<(), CommandError>
where
    F: AsyncFnOnce(&App) -> Result<Value, CommandError>,
{
    actix_web::rt::System::new().block_on(async move {
        let app = App::build(&settings)
            .await
            .map_err(|e| CommandError(e.to_string()))?;
        let outcome = body(&app).await;
        if let Some(database) = app.stores.database {
            database.close().await;
        }
        println!("{}", outcome?);
        Ok(())
    })
}

/// Reads the password from `AGENTS_USER_PASSWORD` or one line of stdin.
fn read_password() -> Result<String, CommandError> {
    if let Ok(password) = std::env::var("AGENTS_USER_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CommandError(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CommandError(
            "no password: set AGENTS_USER_PASSWORD or pipe it on standard input".into(),
        ));
    }
    Ok(password)
}

/// Creates a user (and optionally a tenant they own, in the same
/// transaction) and prints them as JSON.
pub fn create_user(settings: Settings, args: CreateUser) -> Result<(), CommandError> {
    let password = read_password()?;
    run(settings, async move |app| {
        let input = RegisterInput::parse(
            &args.username,
            &args.email,
            &password,
            args.display_name.as_deref(),
        )
        .map_err(OperatorError::Invalid)?;
        let shared = args
            .tenant
            .as_deref()
            .map(|name| (name, args.tenant_slug.as_deref()));
        let (registered, extra) = app.state.accounts.operator_register(input, shared).await?;
        let tenants: Vec<Value> = std::iter::once(&registered.tenant)
            .chain(extra.as_ref())
            .map(|t| json!({"id": t.id.to_string(), "slug": t.slug, "name": t.name, "role": "owner"}))
            .collect();
        Ok(json!({
            "user": {"id": registered.user.id.to_string(), "username": registered.user.username, "email": registered.user.email},
            "tenants": tenants,
        }))
    })
}

/// Sets a user's active flag and prints the result as JSON.
pub fn set_active(settings: Settings, user: UserRef, active: bool) -> Result<(), CommandError> {
    run(settings, async move |app| {
        let updated = app
            .state
            .accounts
            .set_active(&user.username, active)
            .await
            .map_err(|e| match e {
                agents_application::accounts::TenantError::NotFound => CommandError(format!(
                    "no user has the username or email {:?}",
                    user.username
                )),
                other => CommandError(format!("cannot update {:?}: {other}", user.username)),
            })?;
        Ok(
            json!({"user": {"id": updated.id.to_string(), "username": updated.username, "is_active": updated.is_active}}),
        )
    })
}
