//! An environment provider that keeps every value as text, so a secret or a
//! version that looks like a number stays a string; numbers and booleans
//! are read leniently at extraction.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// Reads the listed variables (case-sensitive, upper case) into lower-case keys.
pub struct EnvVars {
    keys: &'static [&'static str],
}

impl EnvVars {
    /// A provider of `keys`.
    pub fn new(keys: &'static [&'static str]) -> Self {
        Self { keys }
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for key in self.keys {
            if let Ok(value) = std::env::var(key) {
                dict.insert(key.to_lowercase(), Value::from(value));
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}
