//! Validated account values: built only through `parse`, so holding one
//! proves it is well formed.

use crate::FieldError;
use crate::secret::Secret;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A login name: 3-50 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Validates a username.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if !(3..=50).contains(&len) || !value.chars().all(is_name_char) {
            return Err(FieldError::new(
                "username",
                "must be 3-50 characters of letters, digits, '_', '.' or '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }
    /// The username as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lower-cased. Checked for shape, not deliverability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates an address: one `@`, a non-empty local part, a dotted domain,
    /// no spaces, at most 254 characters.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        let invalid = || FieldError::new("email", "must be a valid email address");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value.to_lowercase()))
    }
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plaintext password in transit to the hasher. Its `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    /// Validates length: 8-128 characters.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let len = value.chars().count();
        if !(8..=128).contains(&len) {
            return Err(FieldError::new("password", "must be 8-128 characters"));
        }
        Ok(Self(Secret::new(value)))
    }
    /// Wraps a password presented at login without length rules, so a
    /// too-short guess costs the same as any other wrong one.
    pub fn presented(value: &str) -> Self {
        Self(Secret::new(value))
    }
    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Slugs never handed out, because they name system paths or the tenant
/// that adopted the Python service's unowned data.
pub const RESERVED_SLUGS: &[&str] = &[
    "default", "admin", "api", "root", "system", "support", "billing", "www", "docs", "health",
    "metrics", "static", "auth", "me", "new", "tenants",
];

/// A tenant's URL-safe handle: 3-64 characters of `[a-z0-9-]`, not starting
/// or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Validates a slug chosen by a client (reserved ones refused).
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let slug = Self::parse_any(value)?;
        if slug.is_reserved() {
            return Err(FieldError::new("slug", "is reserved; choose another"));
        }
        Ok(slug)
    }

    /// Validates a slug read from storage or a header (reserved ones allowed,
    /// since `default` exists in adopted databases).
    pub fn parse_any(value: &str) -> Result<Self, FieldError> {
        let len = value.len();
        let ok = (3..=64).contains(&len)
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !ok {
            return Err(FieldError::new(
                "slug",
                "must be 3-64 characters of lowercase letters, digits or '-', not starting or ending with '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// Derives a slug base from any text (a username, a tenant name): lower
    /// case, runs of other characters become one `-`, padded to 3 chars.
    /// The caller appends a suffix when the base is taken or reserved.
    pub fn derive_base(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let mut out: String = out.trim_matches('-').chars().take(48).collect();
        while out.len() < 3 {
            out.push('x');
        }
        out.trim_end_matches('-').to_owned()
    }

    /// Whether this slug is on the reserved list.
    pub fn is_reserved(&self) -> bool {
        RESERVED_SLUGS.contains(&self.0.as_str())
    }
    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant's display name: 1-128 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    /// Validates a tenant name.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        let len = value.chars().count();
        if !(1..=128).contains(&len) {
            return Err(FieldError::new("name", "must be 1-128 characters"));
        }
        Ok(Self(value.to_owned()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's display name: 1-128 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates a display name.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        let len = value.chars().count();
        if !(1..=128).contains(&len) {
            return Err(FieldError::new("display_name", "must be 1-128 characters"));
        }
        Ok(Self(value.to_owned()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_the_documented_alphabet_and_lengths() {
        assert!(Username::parse("al.ice-_9").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(51)).is_err());
        assert!(Username::parse("ali ce").is_err());
        assert!(Username::parse("alicé").is_err());
    }

    #[test]
    fn email_is_lowercased_and_shape_checked() {
        assert_eq!(
            Email::parse("Alice@Example.COM").map(|e| e.0),
            Ok("alice@example.com".into())
        );
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a@b",
            "a b@c.de",
            "a@@b.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn password_length_is_bounded_and_debug_hides_it() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        let pw = Password::parse("correct horse").expect("valid");
        assert!(!format!("{pw:?}").contains("horse"));
    }

    #[test]
    fn slug_rules_and_reserved_names() {
        assert!(Slug::parse("acme-inc").is_ok());
        assert!(Slug::parse("default").is_err());
        assert!(Slug::parse_any("default").is_ok());
        assert!(Slug::parse("-acme").is_err());
        assert!(Slug::parse("Acme").is_err());
        assert_eq!(Slug::derive_base("Alice.Smith_2"), "alice-smith-2");
        assert_eq!(Slug::derive_base("a"), "axx");
        assert!(Slug::parse_any(&Slug::derive_base("..__..")).is_ok());
    }
}
