//! A configuration value that must never be printed, and the one rule every
//! secret setting follows: an empty or whitespace-only value is unset (an
//! empty `STRIPE_WEBHOOK_SECRET` must never become an HMAC key everyone
//! knows, nor an empty `STRIPE_SECRET_KEY` select the Stripe gateway).

use serde::{Deserialize, Deserializer};

/// A secret string: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (settings built in code: tests, embedders).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::de::string(deserializer).map(Secret)
    }
}

/// Reads an optional secret setting: absent, empty or whitespace-only is
/// `None`. Every `Option<Secret>` field of the settings uses it.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let value: Option<Secret> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.0.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("sk-very-secret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "sk-very-secret");
    }
}
