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
