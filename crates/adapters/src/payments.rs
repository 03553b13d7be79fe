//! Payment gateways: `local` (no processor: subscriptions are provisioned
//! at once) and Stripe over its REST API, plus Stripe webhook verification.

mod local;
mod stripe;
mod stripe_webhook;

pub use local::LocalGateway;
pub use stripe::{StripeConfig, StripeGateway};
pub use stripe_webhook::StripeWebhookVerifier;
