//! Operator commands that act on the stores directly.

use std::io::BufRead;

use agents_application::accounts::RegisterInput;

use crate::cli::{CreateUser, UserRef};
use crate::config::Settings;
use crate::startup::{App, StartupError};

/// Reads the password from `AGENTS_USER_PASSWORD` or one line of stdin.
fn read_password() -> Result<String, StartupError> {
    if let Ok(password) = std::env::var("AGENTS_USER_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| StartupError::Config(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(StartupError::Config(
            "no password: set AGENTS_USER_PASSWORD or pipe it on standard input".into(),
        ));
    }
    Ok(password)
}

/// Creates a user (and optionally a tenant) and prints them as JSON.
pub fn create_user(settings: Settings, args: CreateUser) -> Result<(), StartupError> {
    let password = read_password()?;
    actix_web::rt::System::new().block_on(async move {
        let app = App::build(&settings).await?;
        let accounts = &app.state.accounts;
        let registered = accounts
            .register(RegisterInput {
                username: args.username,
                email: args.email,
                password,
                display_name: args.display_name,
            })
            .await
            .map_err(|e| StartupError::Config(format!("cannot create the user: {}", describe_register(&e))))?;
        let mut tenants = vec![serde_json::json!({
            "id": registered.tenant.id.to_string(), "slug": registered.tenant.slug, "role": "owner"
        })];
        if let Some(name) = args.tenant {
            let tenant = accounts
                .create_tenant(registered.user.id, &name, args.tenant_slug.as_deref())
                .await
                .map_err(|e| StartupError::Config(format!("user created, but not the tenant: {e}")))?;
            tenants.push(serde_json::json!({
                "id": tenant.tenant.id.to_string(), "slug": tenant.tenant.slug, "role": "owner"
            }));
        }
        println!(
            "{}",
            serde_json::json!({
                "user": {"id": registered.user.id.to_string(), "username": registered.user.username, "email": registered.user.email},
                "tenants": tenants,
            })
        );
        if let Some(database) = app.stores.database {
            database.close().await;
        }
        Ok(())
    })
}

fn describe_register(err: &agents_application::accounts::RegisterError) -> String {
    match err {
        agents_application::accounts::RegisterError::Invalid(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Sets a user's active flag and prints the result as JSON.
pub fn set_active(settings: Settings, user: UserRef, active: bool) -> Result<(), StartupError> {
    actix_web::rt::System::new().block_on(async move {
        let app = App::build(&settings).await?;
        let updated = app
            .state
            .accounts
            .set_active(&user.username, active)
            .await
            .map_err(|e| StartupError::Config(format!("cannot update {}: {e}", user.username)))?;
        println!(
            "{}",
            serde_json::json!({"user": {"id": updated.id.to_string(), "username": updated.username, "is_active": updated.is_active}})
        );
        if let Some(database) = app.stores.database {
            database.close().await;
        }
        Ok(())
    })
}
