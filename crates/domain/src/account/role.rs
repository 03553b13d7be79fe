//! Tenant roles: `owner` > `admin` > `viewer`.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A member's role in a tenant. Ordered: `Viewer < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the tenant's data.
    Viewer,
    /// Manages members (not owners) and billing.
    Admin,
    /// Full control; a tenant always keeps at least one.
    Owner,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        match value {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(FieldError::new(
                "role",
                "must be one of owner, admin, viewer",
            )),
        }
    }

    /// Owners and admins may manage the tenant (billing, members, unowned conversations).
    pub fn can_manage(self) -> bool {
        self >= Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_owner_admin_viewer() {
        assert!(Role::Owner > Role::Admin);
        assert!(Role::Admin > Role::Viewer);
        assert!(Role::Admin.can_manage());
        assert!(!Role::Viewer.can_manage());
    }

    #[test]
    fn role_round_trips_through_its_name() {
        for role in [Role::Viewer, Role::Admin, Role::Owner] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("superuser").is_err());
    }
}
