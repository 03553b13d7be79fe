//! Maps each application error to its status and stable name: the one table
//! of API.md's error names. Infrastructure causes are logged, never sent.

use actix_web::http::StatusCode;
use agents_application::accounts::{
    AuthError, LoginError, RefreshError, RegisterError, TenantError,
};
use agents_application::agents::AgentStatusError;
use agents_application::api_keys::{KeyAuthError, KeyError};
use agents_application::cause::chain;
use agents_application::chat::ChatError;
use agents_application::conversations::ConversationsError;
use agents_application::health::ReadinessError;
use agents_application::runs::RunsError;
use agents_domain::StoreError;

use super::ApiError;

/// What a client is told while a dependency does not answer.
const UNAVAILABLE: &str = "A backing service is not answering; try again shortly.";

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        // The whole chain (down to the driver's error) goes to the log.
        let cause = chain(err.cause());
        match err {
            StoreError::Unavailable(_) => {
                tracing::error!(%cause, "store unavailable");
                ApiError::unavailable(UNAVAILABLE)
            }
            StoreError::Other(_) => ApiError::internal(&cause),
        }
    }
}

impl From<ReadinessError> for ApiError {
    fn from(err: ReadinessError) -> Self {
        tracing::warn!(error = %err, "readiness check failed");
        ApiError::unavailable("The database is not answering; try again shortly.")
    }
}

impl From<RegisterError> for ApiError {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Invalid(fields) => ApiError::validation(fields),
            RegisterError::UsernameTaken => {
                ApiError::conflict("That username is already taken; choose another.")
            }
            RegisterError::EmailTaken => {
                ApiError::conflict("That email is already registered; log in instead.")
            }
            RegisterError::Store(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::InvalidCredentials => {
                ApiError::unauthorized("Incorrect username or password")
            }
            LoginError::Throttled { retry_after } => ApiError::too_many(
                "rate_limited",
                "Too many failed logins; wait before trying again.",
                retry_after.as_secs().max(1),
            ),
            LoginError::Store(e) => e.into(),
            LoginError::Token(e) => ApiError::internal(&e),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(err: RefreshError) -> Self {
        match err {
            RefreshError::Invalid => ApiError::unauthorized(
                "The refresh token is invalid, expired or already used; log in again.",
            ),
            RefreshError::Store(e) => e.into(),
            RefreshError::Token(e) => ApiError::internal(&e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => {
                ApiError::unauthorized("Could not validate credentials; log in again.")
            }
            AuthError::NotAMember => ApiError::forbidden("You are not a member of this tenant."),
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<KeyAuthError> for ApiError {
    fn from(err: KeyAuthError) -> Self {
        match err {
            // One message for unknown, revoked and expired keys.
            KeyAuthError::Unauthenticated => ApiError::unauthorized(
                "The API key is not valid; it may be unknown, revoked or expired.",
            ),
            KeyAuthError::RateLimited { retry_after } => ApiError::too_many(
                "rate_limited",
                "This API key's rate limit is reached; slow down.",
                retry_after.as_secs().max(1),
            ),
            KeyAuthError::Store(e) => e.into(),
        }
    }
}

impl From<KeyError> for ApiError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Invalid(fields) => ApiError::validation(fields),
            KeyError::Forbidden => {
                ApiError::forbidden("Only the tenant's owners and admins manage API keys.")
            }
            KeyError::NotFound => ApiError::not_found("No such API key in this tenant."),
            KeyError::TenantNotFound => ApiError::not_found("No such tenant."),
            KeyError::Store(e) => e.into(),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(err: TenantError) -> Self {
        match err {
            TenantError::Invalid(fields) => ApiError::validation(fields),
            TenantError::Forbidden => {
                ApiError::forbidden("Your role in this tenant does not allow this.")
            }
            TenantError::NotFound => ApiError::not_found("No such user in this tenant."),
            TenantError::SlugTaken => {
                ApiError::conflict("That slug is already taken; choose another.")
            }
            TenantError::AlreadyMember => {
                ApiError::conflict("That user is already a member of this tenant.")
            }
            TenantError::LastOwner => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "A tenant must keep at least one owner; promote another member first.",
            ),
            TenantError::LimitReached { max } => ApiError::conflict(format!(
                "You already own {max} tenants, the most one user may own."
            )),
            TenantError::RateLimited { retry_after } => ApiError::too_many(
                "rate_limited",
                "Too many tenants created; wait before creating another.",
                retry_after.as_secs().max(1),
            ),
            TenantError::Store(e) => e.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Validation(fields) => ApiError::validation(fields),
            ChatError::ConversationNotFound => ApiError::not_found("Conversation not found."),
            ChatError::RateLimited { retry_after } => {
                crate::telemetry::metrics::record_rate_limited("chat");
                ApiError::too_many(
                    "rate_limited",
                    "Too many requests; wait for the Retry-After delay before trying again.",
                    retry_after.as_secs_f64().ceil() as u64,
                )
            }
            ChatError::QuotaExceeded {
                message,
                retry_after,
            } => ApiError::too_many(
                "quota_exceeded",
                message,
                retry_after.map(|d| d.as_secs()).unwrap_or(60),
            ),
            ChatError::LlmUnavailable(cause) => {
                tracing::warn!(%cause, "language model unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "llm_unavailable",
                    "No language model is available; try again later.",
                )
            }
            ChatError::LlmError { status, message } => {
                tracing::warn!(?status, %message, "language model error");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "llm_error",
                    "The language model provider returned an error.",
                )
            }
            err @ ChatError::MaxTurnsExceeded { .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "llm_error",
                format!("{err}; try a simpler request."),
            ),
            ChatError::LlmTimeout => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "llm_timeout",
                "The language model did not answer in time; try again.",
            ),
            ChatError::ServiceUnavailable(cause) => {
                tracing::error!(cause = %chain(&cause), "store unavailable");
                ApiError::unavailable(UNAVAILABLE)
            }
            ChatError::Internal(cause) => ApiError::internal(&chain(&cause)),
            ChatError::Cancelled => ApiError::new(
                StatusCode::CONFLICT,
                "cancelled",
                "The run was cancelled; the answer so far is stored.",
            ),
            ChatError::Interrupted => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "interrupted",
                "The server restarted during this run; send the message again.",
            ),
        }
    }
}

impl From<ConversationsError> for ApiError {
    fn from(err: ConversationsError) -> Self {
        match err {
            ConversationsError::Validation(fields) => ApiError::validation(fields),
            ConversationsError::NotFound => ApiError::not_found("Conversation not found."),
            ConversationsError::Store(error) => error.into(),
        }
    }
}

impl From<AgentStatusError> for ApiError {
    fn from(err: AgentStatusError) -> Self {
        match err {
            AgentStatusError::UnknownAgent(name) => {
                ApiError::not_found(format!("Agent '{name}' not found."))
            }
            AgentStatusError::Store(error) => error.into(),
        }
    }
}

use agents_application::billing::{BillingServiceError, WebhookFailure};
use agents_domain::billing::{GatewayError, WebhookError};

impl From<GatewayError> for ApiError {
    fn from(err: GatewayError) -> Self {
        // The processor's wording stays in the log: it may name our
        // configuration (price ids), never something the client can fix.
        tracing::warn!(error = %err, "payment processor refused or failed");
        match err {
            GatewayError::Declined(_) => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "payment_declined",
                "The payment was declined; use another payment method.",
            ),
            GatewayError::Rejected(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "payment_rejected",
                "The payment processor rejected the request; check the plan and billing details.",
            ),
            GatewayError::Unavailable(_) => {
                ApiError::unavailable("The payment processor is not answering; try again shortly.")
            }
        }
    }
}

impl From<BillingServiceError> for ApiError {
    fn from(err: BillingServiceError) -> Self {
        match err {
            BillingServiceError::Forbidden => ApiError::forbidden(
                "Your role in this tenant does not allow changing billing; ask an owner or admin.",
            ),
            BillingServiceError::Invalid(fields) => ApiError::validation(fields),
            BillingServiceError::EmptyUpdate => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Send at least one of plan_code, auto_renew, billing_email, seat_count.",
            ),
            BillingServiceError::PlanNotFound(_) => ApiError::not_found(
                "No active plan has that plan_code; see GET /api/v1/billing/plans.",
            ),
            BillingServiceError::SubscriptionNotFound => {
                ApiError::not_found("This tenant has no live subscription.")
            }
            BillingServiceError::AlreadySubscribed => ApiError::conflict(
                "This tenant already has a live subscription; change or cancel it instead.",
            ),
            BillingServiceError::Conflict => ApiError::conflict(
                "The subscription was changed by another request while this one ran; retry.",
            ),
            BillingServiceError::Payment(e) => e.into(),
            BillingServiceError::ProcessorNotConfigured(processor) => {
                tracing::error!(%processor, "subscription managed by an unconfigured processor");
                ApiError::unavailable(
                    "The payment processor of this subscription is not configured.",
                )
            }
            BillingServiceError::Store(e) => e.into(),
        }
    }
}

impl From<WebhookFailure> for ApiError {
    fn from(err: WebhookFailure) -> Self {
        match err {
            WebhookFailure::Refused(WebhookError::InvalidSignature) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_signature",
                "The Stripe-Signature header is missing, stale or does not match the payload.",
            ),
            WebhookFailure::Refused(WebhookError::Malformed(cause)) => {
                tracing::warn!(%cause, "malformed webhook payload");
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "The webhook payload is not a readable event.",
                )
            }
            WebhookFailure::Refused(WebhookError::NotConfigured) => {
                tracing::error!("webhook received but STRIPE_WEBHOOK_SECRET is not set");
                ApiError::unavailable("Webhooks are not configured on this server.")
            }
            WebhookFailure::Store(e) => e.into(),
        }
    }
}

impl From<RunsError> for ApiError {
    fn from(err: RunsError) -> Self {
        match err {
            RunsError::NotFound => ApiError::not_found("Run not found."),
            RunsError::ServiceUnavailable(cause) => StoreError::unavailable(cause).into(),
            RunsError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}
