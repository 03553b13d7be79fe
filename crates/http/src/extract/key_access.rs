//! What an API key may reach: the one table from routes to scopes. A route
//! not listed here (tenants, members, keys, billing changes, accounts) is
//! never open to a key, whatever its scopes.

use actix_web::http::Method;
use agents_application::accounts::Caller;
use agents_domain::api_key::Scope;

use crate::error::ApiError;

/// The scope a key needs for `method` on the matched route `pattern` (the
/// full template, e.g. `/api/v1/conversations/{conversation_id}`); `None`
/// when keys may not use the route at all.
pub fn required_scope(method: &Method, pattern: &str) -> Option<Scope> {
    let route = pattern.strip_prefix("/api/v1")?;
    let under = |prefix: &str| route == prefix || route.starts_with(&format!("{prefix}/"));
    match *method {
        Method::POST if under("/chat") || under("/runs") => Some(Scope::Chat),
        Method::GET if under("/runs") => Some(Scope::Chat),
        Method::GET if under("/conversations") || route == "/agents/{name}/status" => {
            Some(Scope::ConversationsRead)
        }
        Method::DELETE if under("/conversations") => Some(Scope::ConversationsWrite),
        Method::GET if under("/billing") => Some(Scope::BillingRead),
        _ => None,
    }
}

/// Refuses a key caller on a route outside its scopes (403); users pass.
pub fn check(caller: &Caller, needed: Option<Scope>) -> Result<(), ApiError> {
    let Some(key) = &caller.api_key else {
        return Ok(());
    };
    match needed {
        Some(scope) if key.allows(scope) => Ok(()),
        Some(scope) => Err(ApiError::forbidden(format!(
            "This API key lacks the `{}` scope this route needs.",
            scope.as_str()
        ))),
        None => Err(ApiError::forbidden(
            "API keys cannot use this route; sign in as a user.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_scopes_and_everything_else_is_closed_to_keys() {
        let cases = [
            (Method::POST, "/api/v1/chat", Some(Scope::Chat)),
            (Method::POST, "/api/v1/chat/stream", Some(Scope::Chat)),
            (Method::POST, "/api/v1/runs", Some(Scope::Chat)),
            (
                Method::GET,
                "/api/v1/runs/{run_id}/events",
                Some(Scope::Chat),
            ),
            (
                Method::GET,
                "/api/v1/conversations",
                Some(Scope::ConversationsRead),
            ),
            (
                Method::GET,
                "/api/v1/conversations/search",
                Some(Scope::ConversationsRead),
            ),
            (
                Method::GET,
                "/api/v1/conversations/{conversation_id}",
                Some(Scope::ConversationsRead),
            ),
            (
                Method::DELETE,
                "/api/v1/conversations/{conversation_id}",
                Some(Scope::ConversationsWrite),
            ),
            (
                Method::GET,
                "/api/v1/agents/{name}/status",
                Some(Scope::ConversationsRead),
            ),
            (
                Method::GET,
                "/api/v1/billing/tenants/{tenant_id}/usage",
                Some(Scope::BillingRead),
            ),
            (
                Method::POST,
                "/api/v1/billing/tenants/{tenant_id}/usage",
                None,
            ),
            (
                Method::POST,
                "/api/v1/billing/tenants/{tenant_id}/subscription",
                None,
            ),
            (
                Method::PATCH,
                "/api/v1/billing/tenants/{tenant_id}/subscription",
                None,
            ),
            (Method::GET, "/api/v1/tenants", None),
            (Method::GET, "/api/v1/tenants/{tenant_id}/members", None),
            (Method::POST, "/api/v1/tenants/{tenant_id}/api-keys", None),
            (Method::GET, "/api/v1/tenants/{tenant_id}/api-keys", None),
            (
                Method::DELETE,
                "/api/v1/tenants/{tenant_id}/api-keys/{key_id}",
                None,
            ),
            (Method::GET, "/api/v1/auth/me", None),
            (Method::GET, "/api/v1/chatty", None),
            (Method::GET, "/chat", None),
        ];
        for (method, pattern, scope) in cases {
            assert_eq!(
                required_scope(&method, pattern),
                scope,
                "{method} {pattern}"
            );
        }
    }
}
