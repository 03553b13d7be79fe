//! `tenant list|create|add-member|remove-member`.

use agents_domain::account::Role;
use serde_json::{Value, json};

use super::{CommandError, run};
use crate::cli::TenantCommand;
use crate::config::Settings;

/// Runs one `tenant` command.
pub fn tenant_command(settings: Settings, command: TenantCommand) -> Result<(), CommandError> {
    run(settings, async move |app| {
        let accounts = &app.state.accounts;
        match command {
            TenantCommand::List => {
                let tenants: Vec<Value> = accounts
                    .operator_tenants()
                    .await?
                    .into_iter()
                    .map(|(t, members)| {
                        json!({"id": t.id.to_string(), "slug": t.slug, "name": t.name, "members": members})
                    })
                    .collect();
                Ok(json!({"tenants": tenants}))
            }
            TenantCommand::Create(args) => {
                let (tenant, owner) = accounts
                    .operator_create_tenant(&args.name, args.slug.as_deref(), &args.owner)
                    .await?;
                Ok(json!({
                    "tenant": {"id": tenant.id.to_string(), "slug": tenant.slug, "name": tenant.name},
                    "owner": {"id": owner.id.to_string(), "username": owner.username},
                }))
            }
            TenantCommand::AddMember(args) => {
                let role = Role::parse(args.role.trim()).map_err(|_| {
                    CommandError(format!(
                        "role {:?} is not one of owner, admin, viewer",
                        args.role
                    ))
                })?;
                let (tenant, member) = accounts
                    .operator_add_member(&args.tenant, &args.user, role)
                    .await?;
                Ok(json!({
                    "tenant": {"id": tenant.id.to_string(), "slug": tenant.slug},
                    "member": {"user_id": member.user_id.to_string(), "username": member.username, "role": member.role.as_str()},
                }))
            }
            TenantCommand::RemoveMember(args) => {
                let (tenant, user) = accounts
                    .operator_remove_member(&args.tenant, &args.user)
                    .await?;
                Ok(json!({
                    "tenant": {"id": tenant.id.to_string(), "slug": tenant.slug},
                    "removed": {"user_id": user.id.to_string(), "username": user.username},
                }))
            }
        }
    })
}
