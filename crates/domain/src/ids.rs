//! Typed identifiers, so a tenant id can never be passed where a user id is due.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random identifier.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            /// Wraps an existing UUID (read from storage or a request).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// Identifies a tenant (an organisation or a personal workspace).
    TenantId
);
uuid_id!(
    /// Identifies a user account.
    UserId
);
uuid_id!(
    /// Identifies a billing plan row.
    PlanId
);
uuid_id!(
    /// Identifies a tenant subscription row.
    SubscriptionId
);
uuid_id!(
    /// Identifies a run: one accepted chat turn.
    RunId
);
uuid_id!(
    /// Identifies one login: every refresh token rotated from it shares this id.
    TokenFamilyId
);
uuid_id!(
    /// Identifies a tenant's API key.
    ApiKeyId
);
