//! A configuration value that must never be printed, and the one rule every
//! secret setting follows: an empty or whitespace-only value is unset (an
//! empty `STRIPE_WEBHOOK_SECRET` must never become an HMAC key everyone
//! knows, nor an empty `STRIPE_SECRET_KEY` select the Stripe gateway).

use serde::{Deserialize, Deserializer};

pub use agents_domain::secret::Secret;

/// Reads an optional secret setting: absent, empty or whitespace-only is
/// `None`. Every `Option<Secret>` field of the settings uses it.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let value: Option<Lenient> = Option::deserialize(deserializer)?;
    Ok(value
        .filter(|v| !v.0.trim().is_empty())
        .map(|v| Secret::new(v.0)))
}

/// A secret as text, read as leniently as any other setting.
struct Lenient(String);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::de::string(deserializer).map(Lenient)
    }
}
