//! Request extractors: the client address, the bearer token, the
//! authenticated caller with their tenant, and JSON bodies and query
//! strings whose errors name the field.

mod caller;
mod client_addr;
mod json;
mod key_access;
mod key_caller;
mod query;

pub use caller::{AuthUser, BearerToken, PathTenant, TenantCaller, path_member, tenant_ref};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use json::{Json, parse_json};
pub use key_access::required_scope;
pub use query::Query;
