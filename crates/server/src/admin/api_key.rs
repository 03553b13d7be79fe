//! `api-key create|revoke`.

use agents_application::api_keys::{CreateKeyInput, KeyError};
use agents_domain::ApiKeyId;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CommandError, run};
use crate::cli::ApiKeyCommand;
use crate::config::Settings;

fn describe(err: KeyError, id: &str) -> CommandError {
    CommandError(match err {
        KeyError::Invalid(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field.replace('_', "-"), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        KeyError::NotFound => format!("no API key has the id {id:?}"),
        KeyError::TenantNotFound => "the tenant no longer exists".into(),
        KeyError::Forbidden => "not allowed".into(),
        KeyError::Store(e) => format!("the database failed, nothing was changed: {e}"),
    })
}

fn rfc3339(at: Option<OffsetDateTime>) -> Value {
    at.and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// Runs one `api-key` command.
pub fn api_key_command(settings: Settings, command: ApiKeyCommand) -> Result<(), CommandError> {
    run(settings, async move |app| match command {
        ApiKeyCommand::Create(args) => {
            let expires_at = args
                .expires_at
                .as_deref()
                .map(|text| {
                    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                        CommandError(format!(
                            "expires-at {text:?} is not an RFC 3339 time (2027-01-31T00:00:00Z)"
                        ))
                    })
                })
                .transpose()?;
            let tenant = app.state.accounts.operator_tenant(&args.tenant).await?;
            let input = CreateKeyInput {
                name: args.name,
                scopes: (!args.scopes.is_empty()).then_some(args.scopes),
                expires_at,
                rate_limit_per_minute: args.rate_limit_per_minute,
                monthly_message_limit: args.monthly_message_limit,
                monthly_token_limit: args.monthly_token_limit,
            };
            let created = app
                .state
                .api_keys
                .create_in(tenant.id, None, input)
                .await
                .map_err(|e| describe(e, ""))?;
            let key = created.key;
            Ok(json!({
                "api_key": {
                    "id": key.id.to_string(),
                    "tenant": {"id": tenant.id.to_string(), "slug": tenant.slug},
                    "name": key.name,
                    "prefix": key.prefix,
                    "key": created.secret,
                    "scopes": key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    "expires_at": rfc3339(key.expires_at),
                    "rate_limit_per_minute": key.rate_limit_per_minute,
                    "monthly_message_limit": key.monthly_message_limit,
                    "monthly_token_limit": key.monthly_token_limit,
                }
            }))
        }
        ApiKeyCommand::Revoke(args) => {
            let id = uuid::Uuid::try_parse(args.id.trim())
                .map(ApiKeyId::from_uuid)
                .map_err(|_| CommandError(format!("id {:?} is not a UUID", args.id)))?;
            let key = app
                .state
                .api_keys
                .revoke_in(None, id)
                .await
                .map_err(|e| describe(e, &args.id))?;
            Ok(json!({
                "api_key": {"id": key.id.to_string(), "prefix": key.prefix, "revoked_at": rfc3339(key.revoked_at)}
            }))
        }
    })
}
