//! What an API key is, what it may do, and what it used.

use time::OffsetDateTime;

use crate::account::Tenant;
use crate::{ApiKeyId, FieldError, TenantId, UserId};

/// Every key starts with this, so a key is told apart from a JWT at once.
pub const KEY_PREFIX: &str = "agk_";

/// How many leading characters of a key are kept in clear (`prefix`): enough
/// to find the key's row by an index and to recognise it in lists and logs.
pub const PREFIX_CHARS: usize = 12;

/// What a key may do. Tenant, member, key and billing-mutation routes are
/// never open to keys, whatever their scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Chat, stream and runs.
    Chat,
    /// List, search and read conversations.
    ConversationsRead,
    /// Delete conversations.
    ConversationsWrite,
    /// Read billing (subscription, usage, plans).
    BillingRead,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [
        Scope::Chat,
        Scope::ConversationsRead,
        Scope::ConversationsWrite,
        Scope::BillingRead,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Chat => "chat",
            Scope::ConversationsRead => "conversations:read",
            Scope::ConversationsWrite => "conversations:write",
            Scope::BillingRead => "billing:read",
        }
    }

    /// Parses a wire name; `field` names it in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of chat, conversations:read, conversations:write, billing:read",
                )
            })
    }

    /// The scopes a key gets when none are asked for.
    pub fn defaults() -> Vec<Scope> {
        vec![Scope::Chat, Scope::ConversationsRead]
    }
}

/// A stored key (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// The one tenant every request with the key acts in.
    pub tenant_id: TenantId,
    /// A label chosen by its creator.
    pub name: String,
    /// The first [`PREFIX_CHARS`] characters of the key.
    pub prefix: String,
    /// What it may do, sorted, without duplicates.
    pub scopes: Vec<Scope>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// After this the key is refused; `None`: never.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked key is refused.
    pub revoked_at: Option<OffsetDateTime>,
    /// Last request authenticated by it (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// Requests per minute; `None`: no per-key limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Chat turns per calendar month (UTC); `None`: no limit.
    pub monthly_message_limit: Option<i64>,
    /// Model tokens per calendar month (UTC); `None`: no limit.
    pub monthly_token_limit: Option<i64>,
    /// Who created it; `None` for operators' keys.
    pub created_by: Option<UserId>,
}

impl ApiKey {
    /// Whether requests with this key are accepted at `now`.
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether the key carries `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A key to store with the hash of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    /// The key (`revoked_at` and `last_used_at` unset).
    pub key: ApiKey,
    /// The secret's hash ([`KeyMaterial::hash`]).
    pub hash: String,
}

/// What authenticating a request needs, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyLookup {
    /// The key.
    pub key: ApiKey,
    /// Its secret's hash, compared in constant time by the caller.
    pub hash: String,
    /// Its tenant.
    pub tenant: Tenant,
}

/// A key's use in one calendar month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// Chat turns counted.
    pub messages: i64,
    /// Model tokens counted.
    pub tokens: i64,
}

/// The answer to a chat turn's budget check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTurn {
    /// Counted; this many tokens are left this month (`None`: no limit).
    Reserved {
        /// Tokens left under `monthly_token_limit`.
        tokens_left: Option<i64>,
    },
    /// `monthly_message_limit` is used up: nothing was counted.
    MessagesUsedUp {
        /// The limit.
        limit: i64,
    },
    /// `monthly_token_limit` is used up: nothing was counted.
    TokensUsedUp {
        /// The limit.
        limit: i64,
    },
}

/// Makes and hashes key secrets. Keys carry 256 random bits, so a fast
/// hash (SHA-256) is enough: there is nothing to guess.
pub trait KeyMaterial: Send + Sync {
    /// A fresh key: [`KEY_PREFIX`] and at least 32 URL-safe random characters.
    fn generate(&self) -> String;
    /// The stored form of a key.
    fn hash(&self, key: &str) -> String;
}
