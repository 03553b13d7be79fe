//! Request extractors: the client address, the bearer token, and the
//! authenticated caller with their tenant.

mod caller;
mod client_addr;

pub use caller::{AuthUser, BearerToken, TenantCaller, path_member, tenant_ref};
pub use client_addr::{ClientAddr, TrustedProxies};
