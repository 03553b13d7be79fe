//! Typed settings, read once at start: built-in defaults < an optional TOML
//! file (`agents.toml` or `--config PATH`) < environment variables (the
//! Python service's names plus ours). Every key is documented in
//! `agents.example.toml`.

mod de;
mod env;
mod secret;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub use secret::Secret;

/// Environment variables we read (the Python service's names first).
pub const ENV_KEYS: &[&str] = &[
    "SHUTDOWN_GRACE_SECONDS",
    "RUN_EVENTS_RETENTION",
    "RUN_LEASE_SECONDS",
    "APP_NAME",
    "APP_DESCRIPTION",
    "APP_VERSION",
    "DEBUG",
    "HOST",
    "PORT",
    "SECRET_KEY",
    "JWT_ALGORITHM",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "OPENAI_API_KEY",
    "TAVILY_API_KEY",
    "REDIS_URL",
    "ALLOWED_ORIGINS",
    "ALLOWED_METHODS",
    "ALLOWED_HEADERS",
    "LOG_LEVEL",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_POOL_RECYCLE",
    "DATABASE_HEALTH_TIMEOUT",
    "DATABASE_ACQUIRE_TIMEOUT",
    "DATABASE_ECHO",
    "USE_IN_MEMORY_REPO",
    "ENABLE_BILLING",
    "AUTO_RUN_MIGRATIONS",
    // ours
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "LLM_TIMEOUT",
    "LLM_MAX_RETRIES",
    "AGENT_MAX_TURNS",
    "CHAT_HISTORY_MESSAGES",
    "TAVILY_BASE_URL",
    "LOG_FORMAT",
    "MAX_BODY_BYTES",
    "DATA_DIR",
    "WORKERS",
    "SHUTDOWN_TIMEOUT",
    "TRUSTED_PROXIES",
    "REFRESH_TOKEN_EXPIRE_DAYS",
    "JWT_PRIVATE_KEY_PATH",
    "JWT_PUBLIC_KEY_PATH",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "LOGIN_MAX_FAILURES",
    "LOGIN_WINDOW_SECONDS",
    "RATE_LIMIT_CHAT_PER_MINUTE",
    "RATE_LIMIT_ANON_PER_MINUTE",
    "RATE_LIMIT_TENANT_CREATE_PER_HOUR",
    "MAX_TENANTS_PER_USER",
    "OPENAI_MAX_TOKENS_FIELD",
    "DEFAULT_PLAN",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_BASE_URL",
    "LOGIN_KNOWN_ADDRESS_DAYS",
    "REFRESH_TOKEN_GRACE_SECONDS",
];

/// Output format of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Access-token signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `SECRET_KEY`.
    HS256,
    /// Ed25519 with the configured PEM key pair.
    EdDSA,
}

/// The request field a model call's output cap goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// OpenAI's current field (required by its reasoning models).
    MaxCompletionTokens,
    /// The older field some compatible servers still read.
    MaxTokens,
}

/// An agent declared in the configuration file (`[agents.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// One line for clients.
    pub description: String,
    /// System instructions.
    pub instructions: String,
    /// Model override.
    #[serde(default)]
    pub model: Option<String>,
    /// Tool names.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Handoff targets.
    #[serde(default)]
    pub handoffs: Vec<String>,
}

/// A plan feature's limits (`[plans.CODE.features.KEY]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSettings {
    /// Usage past this is refused.
    #[serde(default)]
    pub hard_limit: Option<i64>,
    /// Usage past this is reported.
    #[serde(default)]
    pub soft_limit: Option<i64>,
    /// Reported to the processor.
    #[serde(default)]
    pub is_metered: bool,
    /// Human name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A plan's configuration (`[plans.CODE]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// The Stripe price the plan maps to.
    #[serde(default)]
    pub stripe_price_id: Option<String>,
    /// Chat requests per minute for the plan's tenants (0 = unlimited).
    #[serde(default)]
    pub chat_per_minute: Option<u32>,
    /// Features by key.
    #[serde(default)]
    pub features: BTreeMap<String, FeatureSettings>,
}

/// Every setting of the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    #[serde(deserialize_with = "de::string")]
    pub app_name: String,
    #[serde(deserialize_with = "de::string")]
    pub app_description: String,
    #[serde(deserialize_with = "de::string")]
    pub app_version: String,
    pub debug: bool,
    #[serde(deserialize_with = "de::string")]
    pub host: String,
    pub port: u16,
    pub workers: Option<usize>,
    pub shutdown_timeout: u64,
    /// Seconds running chat runs get to finish on SIGTERM before they are
    /// interrupted.
    pub shutdown_grace_seconds: u64,
    /// Seconds an ended run's events stay readable.
    pub run_events_retention: u64,
    /// Seconds a run stays `running` without its process renewing it.
    pub run_lease_seconds: u64,
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "de::string_list")]
    pub trusted_proxies: Vec<String>,
    #[serde(deserialize_with = "de::string_list")]
    pub allowed_origins: Vec<String>,
    #[serde(deserialize_with = "de::string_list")]
    pub allowed_methods: Vec<String>,
    #[serde(deserialize_with = "de::string_list")]
    pub allowed_headers: Vec<String>,
    #[serde(deserialize_with = "de::string")]
    pub log_level: String,
    pub log_format: LogFormat,
    pub data_dir: PathBuf,

    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub secret_key: Option<Secret>,
    pub jwt_algorithm: JwtAlgorithm,
    pub jwt_private_key_path: Option<PathBuf>,
    pub jwt_public_key_path: Option<PathBuf>,
    #[serde(deserialize_with = "de::string")]
    pub jwt_issuer: String,
    #[serde(deserialize_with = "de::string")]
    pub jwt_audience: String,
    pub access_token_expire_minutes: u32,
    pub refresh_token_expire_days: u32,
    pub login_max_failures: u32,
    pub login_window_seconds: u64,
    pub login_known_address_days: u32,
    pub refresh_token_grace_seconds: u32,
    pub rate_limit_chat_per_minute: u32,
    pub rate_limit_anon_per_minute: u32,
    pub rate_limit_tenant_create_per_hour: u32,
    pub max_tenants_per_user: u32,
    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub redis_url: Option<Secret>,

    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub database_url: Option<Secret>,
    pub database_pool_size: u32,
    pub database_max_overflow: u32,
    /// The Python service's SQLAlchemy `pool_timeout`: read so its
    /// environment files still load, ignored (with a warning at start);
    /// `database_acquire_timeout` bounds the wait for a connection.
    pub database_pool_timeout: Option<f64>,
    pub database_pool_recycle: u64,
    pub database_health_timeout: f64,
    /// Seconds a request waits for a database connection (a free one in
    /// the pool, or a new one being opened) before answering 503.
    pub database_acquire_timeout: f64,
    pub database_echo: bool,
    pub use_in_memory_repo: bool,
    pub auto_run_migrations: Option<bool>,

    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub openai_api_key: Option<Secret>,
    #[serde(deserialize_with = "de::string")]
    pub openai_base_url: String,
    #[serde(deserialize_with = "de::string")]
    pub openai_model: String,
    pub openai_max_tokens_field: MaxTokensField,
    pub llm_timeout: f64,
    pub llm_max_retries: u32,
    pub agent_max_turns: u32,
    pub chat_history_messages: u32,
    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub tavily_api_key: Option<Secret>,
    #[serde(deserialize_with = "de::string")]
    pub tavily_base_url: String,

    pub enable_billing: bool,
    #[serde(deserialize_with = "de::string")]
    pub default_plan: String,
    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub stripe_secret_key: Option<Secret>,
    #[serde(skip_serializing, deserialize_with = "secret::optional")]
    pub stripe_webhook_secret: Option<Secret>,
    #[serde(deserialize_with = "de::string")]
    pub stripe_base_url: String,

    pub agents: BTreeMap<String, AgentSettings>,
    pub plans: BTreeMap<String, PlanSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            app_name: "Anything Agents".into(),
            app_description: "Multi-tenant AI agents service".into(),
            app_version: "1.0.0".into(),
            debug: false,
            host: "127.0.0.1".into(),
            port: 8000,
            workers: None,
            shutdown_timeout: 30,
            shutdown_grace_seconds: 30,
            run_events_retention: 900,
            run_lease_seconds: 15,
            max_body_bytes: 256 * 1024,
            trusted_proxies: Vec::new(),
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["*".into()],
            allowed_headers: vec!["*".into()],
            log_level: "info".into(),
            log_format: LogFormat::Pretty,
            data_dir: PathBuf::from("./data"),
            secret_key: None,
            jwt_algorithm: JwtAlgorithm::HS256,
            jwt_private_key_path: None,
            jwt_public_key_path: None,
            jwt_issuer: "anything-agents".into(),
            jwt_audience: "anything-agents-api".into(),
            access_token_expire_minutes: 30,
            refresh_token_expire_days: 30,
            login_max_failures: 5,
            login_window_seconds: 900,
            login_known_address_days: 30,
            refresh_token_grace_seconds: 30,
            rate_limit_chat_per_minute: 60,
            rate_limit_anon_per_minute: 120,
            rate_limit_tenant_create_per_hour: 10,
            max_tenants_per_user: 10,
            redis_url: None,
            database_url: None,
            database_pool_size: 10,
            database_max_overflow: 10,
            database_pool_timeout: None,
            database_pool_recycle: 1800,
            database_health_timeout: 2.0,
            database_acquire_timeout: 2.0,
            database_echo: false,
            use_in_memory_repo: false,
            auto_run_migrations: None,
            openai_api_key: None,
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_model: "gpt-4o-mini".into(),
            openai_max_tokens_field: MaxTokensField::MaxCompletionTokens,
            llm_timeout: 60.0,
            llm_max_retries: 2,
            agent_max_turns: 10,
            chat_history_messages: 20,
            tavily_api_key: None,
            tavily_base_url: "https://api.tavily.com".into(),
            enable_billing: false,
            default_plan: "starter".into(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_base_url: "https://api.stripe.com".into(),
            agents: BTreeMap::new(),
            plans: BTreeMap::new(),
        }
    }
}

/// A configuration problem, as one line naming the key and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Loads defaults < TOML file < environment. `file` is `--config PATH`
    /// (must exist); without it `agents.toml` in the working directory is
    /// read when present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError(format!(
                    "--config {}: file not found",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("agents.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("agents.toml"))
            }
            None => {}
        }
        let settings: Settings = figment
            .merge(env::EnvVars::new(ENV_KEYS))
            .extract_lossy()
            .map_err(|e| ConfigError(describe(&e)))?;
        settings.validate()?;
        Ok(settings)
    }
}

/// Names the key as an operator would set it (`PORT`, or `agents.x.model`
/// for file-only keys) and what was wrong.
fn describe(err: &figment::Error) -> String {
    let key = if err.path.len() == 1 {
        err.path[0].to_uppercase()
    } else {
        err.path.join(".")
    };
    let source = err
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    let line = if key.is_empty() {
        format!("{}{source}", err.kind)
    } else {
        format!("{key}{source}: {}", err.kind)
    };
    // One line, whatever the underlying message holds.
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
