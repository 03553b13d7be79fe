//! The billing use cases' error: one variant per outcome a client can act
//! on, each naming the API.md status it becomes.

use agents_domain::billing::{BillingError, GatewayError};
use agents_domain::{FieldError, StoreError};

/// Why a billing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingServiceError {
    /// 403: the caller's role does not allow this (viewers mutating).
    #[error("your role in this tenant does not allow this")]
    Forbidden,
    /// 422: invalid fields.
    #[error("invalid billing request")]
    Invalid(Vec<FieldError>),
    /// 400: a PATCH without any field to change.
    #[error("nothing to change")]
    EmptyUpdate,
    /// 404: no active plan with this code.
    #[error("plan `{0}` not found")]
    PlanNotFound(String),
    /// 404: the tenant has no live subscription.
    #[error("subscription not found")]
    SubscriptionNotFound,
    /// 409: the tenant already has a live subscription.
    #[error("the tenant already has a live subscription")]
    AlreadySubscribed,
    /// 409: the subscription kept changing under this request (a webhook
    /// or another request wrote it each time it was read); nothing of this
    /// request was stored.
    #[error("the subscription was changed concurrently")]
    Conflict,
    /// 402/422/503 by kind: the payment processor refused or failed.
    #[error(transparent)]
    Payment(#[from] GatewayError),
    /// 503: the subscription belongs to a processor this server is not
    /// configured for (e.g. Stripe without `STRIPE_SECRET_KEY`).
    #[error("subscription is managed by processor `{0}`, which is not configured")]
    ProcessorNotConfigured(String),
    /// 503/500: infrastructure failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BillingError> for BillingServiceError {
    fn from(err: BillingError) -> Self {
        match err {
            BillingError::NotFound => Self::SubscriptionNotFound,
            BillingError::AlreadySubscribed => Self::AlreadySubscribed,
            BillingError::VersionConflict => Self::Conflict,
            BillingError::Store(e) => Self::Store(e),
        }
    }
}
