//! Plans, subscriptions, usage metering and the payment gateway.

mod gateway;
mod model;
mod store;

pub use gateway::{GatewayError, GatewaySubscription, NewGatewaySubscription, PaymentGateway, SubscriptionChange};
pub use model::{
    Invoice, Period, Plan, PlanFeature, QuotaDecision, Subscription, SubscriptionStatus, UsageRecorded,
    UsageReport, UsageTotal,
};
pub use store::{BillingError, BillingStore};
#[cfg(any(test, feature = "mocks"))]
pub use gateway::MockPaymentGateway;
#[cfg(any(test, feature = "mocks"))]
pub use store::MockBillingStore;
