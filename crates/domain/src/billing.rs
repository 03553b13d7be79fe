//! Plans, subscriptions, usage metering and the payment gateway.

mod gateway;
mod model;
mod store;
mod webhook;

#[cfg(any(test, feature = "mocks"))]
pub use gateway::MockPaymentGateway;
pub use gateway::{
    GatewayError, GatewaySubscription, NewGatewaySubscription, PaymentGateway, SubscriptionChange,
};
pub use model::{
    Invoice, Period, Plan, PlanFeature, QuotaDecision, Subscription, SubscriptionStatus,
    UsageRecorded, UsageReport, UsageTotal,
};
#[cfg(any(test, feature = "mocks"))]
pub use store::MockBillingStore;
pub use store::{BillingError, BillingStore};
#[cfg(any(test, feature = "mocks"))]
pub use webhook::MockWebhookVerifier;
pub use webhook::{
    BillingEvent, BillingEventKind, InvoiceSnapshot, SubscriptionSnapshot, WebhookError,
    WebhookVerifier,
};
