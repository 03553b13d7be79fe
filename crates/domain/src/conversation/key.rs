//! The client-visible conversation id.

use uuid::Uuid;

use crate::FieldError;

/// A conversation id as clients send it: 1-255 characters of
/// `[A-Za-z0-9._:-]`. A value in UUID form is normalised to lowercase
/// hyphenated form, as the Python service did. Scoped by tenant: the same
/// key in two tenants names two conversations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationKey(String);

impl ConversationKey {
    /// Validates and normalises a client conversation id.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if let Ok(uuid) = Uuid::try_parse(value) {
            return Ok(Self(uuid.hyphenated().to_string()));
        }
        let len = value.len();
        let ok = (1..=255).contains(&len)
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
        if !ok {
            return Err(FieldError::new(
                "conversation_id",
                "must be 1-255 characters of letters, digits, '.', '_', ':' or '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A fresh random key (a new conversation without a client id).
    pub fn generate() -> Self {
        Self(Uuid::new_v4().hyphenated().to_string())
    }

    /// Wraps a key read from storage without re-validating it.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_keys_are_lowercased_and_hyphenated() {
        let key = ConversationKey::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").expect("valid");
        assert_eq!(key.as_str(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        let simple = ConversationKey::parse("0f8fad5bd9cb469fa16570867728950e").expect("valid");
        assert_eq!(simple, key);
    }

    #[test]
    fn free_form_keys_follow_the_alphabet() {
        assert_eq!(
            ConversationKey::parse("Chat:2024.v1_a-b").map(|k| k.0),
            Ok("Chat:2024.v1_a-b".into())
        );
        assert!(ConversationKey::parse("").is_err());
        assert!(ConversationKey::parse("has space").is_err());
        assert!(ConversationKey::parse("slash/no").is_err());
        assert!(ConversationKey::parse(&"a".repeat(256)).is_err());
        assert!(ConversationKey::parse(&"a".repeat(255)).is_ok());
    }
}
