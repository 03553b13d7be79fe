//! Plans, subscriptions, usage metering and the payment gateway.

mod gateway;
mod model;
mod store;
mod values;
mod webhook;
mod window;

#[cfg(any(test, feature = "mocks"))]
pub use gateway::MockPaymentGateway;
pub use gateway::{
    GatewayError, GatewaySubscription, MeterEvent, NewCustomer, NewGatewaySubscription,
    PaymentGateway, SubscriptionChange,
};
pub use model::{
    BillingAccount, Invoice, Period, Plan, PlanFeature, ProcessorCustomer, QuotaDecision,
    Subscription, SubscriptionStatus, UsageRecorded, UsageReport, UsageTotal,
};
#[cfg(any(test, feature = "mocks"))]
pub use store::MockBillingStore;
pub use store::{BillingError, BillingStore, EventEffect, EventRecorded};
pub use values::UsageQuantity;
#[cfg(any(test, feature = "mocks"))]
pub use webhook::MockWebhookVerifier;
pub use webhook::{
    BillingEvent, BillingEventKind, InvoiceSnapshot, SubscriptionSnapshot, WebhookError,
    WebhookVerifier,
};
pub use window::{QuotaWindow, add_months, month_of, next_window};
