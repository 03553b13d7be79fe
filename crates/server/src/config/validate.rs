//! Checks that serde cannot express; each failure names its key.

use super::{ConfigError, JwtAlgorithm, Settings};

fn fail(key: &str, message: &str) -> Result<(), ConfigError> {
    Err(ConfigError(format!("{key}: {message}")))
}

impl Settings {
    /// Refuses values that would only fail later, at a worse moment.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if tracing_subscriber::EnvFilter::try_new(self.log_level.to_lowercase()).is_err() {
            fail(
                "LOG_LEVEL",
                "expected a level (trace, debug, info, warn, error) or a filter like `info,sqlx=warn`",
            )?;
        }
        if let Some(url) = &self.database_url {
            let url = url.expose();
            let known = ["sqlite:", "postgres://", "postgresql://"];
            if !known.iter().any(|p| url.starts_with(p)) {
                fail(
                    "DATABASE_URL",
                    "expected a URL starting with sqlite:, postgres:// or postgresql://",
                )?;
            }
        }
        for method in &self.allowed_methods {
            let ok = method == "*"
                || (!method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()));
            if !ok {
                fail(
                    "ALLOWED_METHODS",
                    "expected `*` or upper-case HTTP methods like GET,POST",
                )?;
            }
        }
        let positive = [
            ("LLM_TIMEOUT", self.llm_timeout),
            ("DATABASE_HEALTH_TIMEOUT", self.database_health_timeout),
            ("DATABASE_ACQUIRE_TIMEOUT", self.database_acquire_timeout),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                fail(key, "expected a positive number of seconds")?;
            }
        }
        for (key, value) in [
            ("RUN_EVENTS_RETENTION", self.run_events_retention),
            ("RUN_LEASE_SECONDS", self.run_lease_seconds),
        ] {
            if value == 0 {
                fail(key, "expected a positive number of seconds")?;
            }
        }
        if self.max_body_bytes < 1024 {
            fail("MAX_BODY_BYTES", "expected at least 1024 bytes")?;
        }
        if self.database_pool_size == 0 {
            fail("DATABASE_POOL_SIZE", "expected at least 1")?;
        }
        if self.agent_max_turns == 0 {
            fail("AGENT_MAX_TURNS", "expected at least 1")?;
        }
        if self.access_token_expire_minutes == 0 {
            fail("ACCESS_TOKEN_EXPIRE_MINUTES", "expected at least 1 minute")?;
        }
        if self.jwt_algorithm == JwtAlgorithm::EdDSA
            && (self.jwt_private_key_path.is_none() || self.jwt_public_key_path.is_none())
        {
            fail(
                "JWT_ALGORITHM",
                "EdDSA needs JWT_PRIVATE_KEY_PATH and JWT_PUBLIC_KEY_PATH (PEM files)",
            )?;
        }
        if self.default_plan.trim().is_empty() {
            fail("DEFAULT_PLAN", "expected a plan code")?;
        }
        // Without it every Stripe webhook would be refused, or, worse, an
        // empty key would verify signatures anyone can make.
        if self.enable_billing
            && self.stripe_secret_key.is_some()
            && self.stripe_webhook_secret.is_none()
        {
            fail(
                "STRIPE_WEBHOOK_SECRET",
                "is required with ENABLE_BILLING=true and STRIPE_SECRET_KEY set (the endpoint's whsec_... signing secret)",
            )?;
        }
        Ok(())
    }
}
