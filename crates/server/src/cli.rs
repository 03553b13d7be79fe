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
