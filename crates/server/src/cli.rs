//! Command line: serve (default), or an operator command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The agents service.
#[derive(Debug, Parser)]
#[command(name = "agents-server", version, about)]
pub struct Cli {
    /// TOML configuration file (default: ./agents.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (the default).
    Serve,
    /// Print the effective configuration (secrets omitted) and exit.
    CheckConfig,
    /// Manage users without HTTP.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage tenants and their members without HTTP.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage tenants' API keys without HTTP.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

/// API key administration.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; the key itself is printed this once.
    Create(CreateApiKey),
    /// Revoke a key: it stops working at once, on every replica.
    Revoke(RevokeApiKey),
}

/// `api-key create` arguments.
#[derive(Debug, Args)]
pub struct CreateApiKey {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// A label for the key.
    #[arg(long)]
    pub name: String,
    /// A scope (repeat for several): chat, conversations:read,
    /// conversations:write, billing:read. Default: chat and conversations:read.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Expiry (RFC 3339).
    #[arg(long)]
    pub expires_at: Option<String>,
    /// Requests per minute.
    #[arg(long)]
    pub rate_limit_per_minute: Option<i64>,
    /// Chat turns per calendar month (UTC).
    #[arg(long)]
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per calendar month (UTC).
    #[arg(long)]
    pub monthly_token_limit: Option<i64>,
}

/// `api-key revoke` arguments.
#[derive(Debug, Args)]
pub struct RevokeApiKey {
    /// The key's id.
    #[arg(long)]
    pub id: String,
}

/// Tenant administration.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// List every tenant with its member count.
    List,
    /// Create a tenant owned by an existing user.
    Create(CreateTenant),
    /// Add a user to a tenant (e.g. `--tenant default` for the Python
    /// service's conversations).
    AddMember(AddMember),
    /// Remove a user from a tenant (never its last owner).
    RemoveMember(RemoveMember),
}

/// `tenant create` arguments.
#[derive(Debug, Args)]
pub struct CreateTenant {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// URL handle (derived from the name when absent).
    #[arg(long)]
    pub slug: Option<String>,
    /// Username or email of the owner.
    #[arg(long)]
    pub owner: String,
}

/// `tenant add-member` arguments.
#[derive(Debug, Args)]
pub struct AddMember {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// Username or email.
    #[arg(long)]
    pub user: String,
    /// owner, admin or viewer.
    #[arg(long)]
    pub role: String,
}

/// `tenant remove-member` arguments.
#[derive(Debug, Args)]
pub struct RemoveMember {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// Username or email.
    #[arg(long)]
    pub user: String,
}

/// User administration.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with a personal tenant) and optionally a named tenant
    /// they own. The password is read from AGENTS_USER_PASSWORD or the first
    /// line of standard input, never from the command line.
    Create(CreateUser),
    /// Deactivate a user: their logins and tokens stop working at once.
    Deactivate(UserRef),
    /// Reactivate a deactivated user.
    Activate(UserRef),
}

/// Names a user.
#[derive(Debug, Args)]
pub struct UserRef {
    /// Username or email.
    #[arg(long)]
    pub username: String,
}

/// `user create` arguments.
#[derive(Debug, Args)]
pub struct CreateUser {
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// Email address.
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Also create a tenant with this name, owned by the user.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Slug for that tenant (derived from its name when absent).
    #[arg(long, requires = "tenant")]
    pub tenant_slug: Option<String>,
}
