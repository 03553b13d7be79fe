//! Account entities.

use time::OffsetDateTime;

use super::{DisplayName, Email, Role, Slug, TenantName, Username};
use crate::{TenantId, UserId};

/// A person who logs in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Identifier (the JWT `sub`).
    pub id: UserId,
    /// Unique login name.
    pub username: String,
    /// Unique email, lower-cased.
    pub email: String,
    /// Optional display name.
    pub display_name: Option<String>,
    /// Inactive users cannot log in and their tokens stop working.
    pub is_active: bool,
    /// The personal tenant made at registration.
    pub home_tenant_id: Option<TenantId>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A tenant: the unit of data isolation and billing.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Identifier.
    pub id: TenantId,
    /// Unique URL-safe handle.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A tenant seen from one member: the tenant and that member's role.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantWithRole {
    /// The tenant.
    pub tenant: Tenant,
    /// The member's role in it.
    pub role: Role,
}

/// A (tenant, user, role) membership.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The member.
    pub user_id: UserId,
    /// The member's role.
    pub role: Role,
    /// When the user joined.
    pub created_at: OffsetDateTime,
}

/// A member as listed by the members route.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The member's id.
    pub user_id: UserId,
    /// The member's username.
    pub username: String,
    /// The member's email.
    pub email: String,
    /// The member's role.
    pub role: Role,
    /// When the user joined.
    pub joined_at: OffsetDateTime,
}

/// What registration stores for a new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Fresh id.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// Email.
    pub email: Email,
    /// Optional display name.
    pub display_name: Option<DisplayName>,
    /// PHC-format password hash (never the password).
    pub password_hash: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// What is stored for a new tenant.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Fresh id.
    pub id: TenantId,
    /// Unique slug.
    pub slug: Slug,
    /// Display name.
    pub name: TenantName,
    /// Creation time.
    pub created_at: OffsetDateTime,
}
