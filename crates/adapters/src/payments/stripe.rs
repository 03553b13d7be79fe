//! The Stripe gateway over its REST API: customers, subscriptions for the
//! plan's price, quantity and `cancel_at_period_end` changes, cancellation,
//! and billing meter events for metered usage.

mod client;
mod wire;

pub(crate) use wire::{
    Invoice as WireInvoice, Subscription as WireSubscription, time as unix_time,
};

use agents_domain::secret::Secret;
use std::time::Duration;

use agents_domain::TenantId;
use agents_domain::billing::{
    GatewayError, GatewaySubscription, MeterEvent, NewCustomer, NewGatewaySubscription,
    PaymentGateway, SubscriptionChange,
};
use async_trait::async_trait;
use reqwest::Method;
use sha2::{Digest, Sha256};

/// How to reach Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com` (`STRIPE_BASE_URL`), or a test server.
    pub base_url: String,
    /// The secret key (`sk_...`); never logged.
    pub secret_key: Secret,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Extra attempts after a 429, 5xx, timeout or connection failure.
    pub max_retries: u32,
    /// First pause between attempts; doubles each time.
    pub backoff: Duration,
}

impl StripeConfig {
    /// Production defaults: 10 s per attempt, 2 retries from 500 ms.
    pub fn new(base_url: impl Into<String>, secret_key: impl Into<Secret>) -> Self {
        Self {
            base_url: base_url.into(),
            secret_key: secret_key.into(),
            timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Takes payments through Stripe.
#[derive(Debug)]
pub struct StripeGateway {
    client: reqwest::Client,
    config: StripeConfig,
}

impl StripeGateway {
    /// A gateway with its own HTTP client.
    pub fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self { client, config })
    }
}

fn pair(key: &str, value: impl ToString) -> (String, String) {
    (key.to_owned(), value.to_string())
}

/// Path segments come from Stripe ids; anything else is refused rather
/// than spliced into a URL.
fn path_id(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(id)
    } else {
        Err(GatewayError::Rejected(format!("`{id}` is not a Stripe id")))
    }
}

/// Stripe's limit on a meter event `identifier`.
const MAX_IDENTIFIER: usize = 100;

/// The first `chars` hex characters of SHA-256 over `value`.
fn digest(value: &str, chars: usize) -> String {
    let mut hex = hex::encode(Sha256::digest(value.as_bytes()));
    hex.truncate(chars);
    hex
}

/// The meter event `identifier` of a tenant's report: `{tenant}:{key}`, so
/// two tenants using the same key are two events, and a retry of the same
/// report the same one. A key too long for Stripe's 100 characters is
/// replaced by its SHA-256 (hex, shortened to fit), still stable.
pub(crate) fn meter_identifier(tenant: TenantId, idempotency_key: &str) -> String {
    let plain = format!("{tenant}:{idempotency_key}");
    if plain.len() <= MAX_IDENTIFIER {
        return plain;
    }
    let prefix = format!("{tenant}:sha256:");
    let room = MAX_IDENTIFIER.saturating_sub(prefix.len());
    format!("{prefix}{}", digest(idempotency_key, room))
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn name(&self) -> &'static str {
        "stripe"
    }

    /// One customer per tenant. The idempotency key is derived from the
    /// tenant (and the email sent), so concurrent or retried creations for
    /// a tenant within Stripe's 24 hours get the same customer back.
    async fn create_customer(&self, request: NewCustomer) -> Result<Option<String>, GatewayError> {
        let tenant = request.tenant_id.to_string();
        let mut form = vec![pair("metadata[tenant_id]", &tenant)];
        if let Some(email) = &request.billing_email {
            form.push(pair("email", email));
        }
        let email = request.billing_email.as_deref().unwrap_or_default();
        let key = format!("customer-{tenant}-{}", digest(email, 16));
        let customer: wire::Object = self
            .call(Method::POST, "/v1/customers", &form, Some(&key))
            .await?;
        customer.id.map(Some).ok_or_else(|| {
            GatewayError::Unavailable("Stripe created a customer without an id".into())
        })
    }

    async fn create_subscription(
        &self,
        request: NewGatewaySubscription,
    ) -> Result<GatewaySubscription, GatewayError> {
        let price = request.price_id.clone().ok_or_else(|| {
            GatewayError::Rejected(format!(
                "plan `{}` has no Stripe price id (set plans.{}.stripe_price_id)",
                request.plan_code, request.plan_code
            ))
        })?;
        let customer_id = request.customer_id.clone().ok_or_else(|| {
            GatewayError::Rejected("a Stripe subscription needs the tenant's customer".into())
        })?;
        let tenant = request.tenant_id.to_string();
        let key = &request.idempotency_key;
        let mut form = vec![
            pair("customer", &customer_id),
            pair("items[0][price]", &price),
            pair("items[0][quantity]", request.seat_count),
            pair("metadata[tenant_id]", &tenant),
            pair("metadata[plan_code]", &request.plan_code),
            // Without a card on file the first invoice waits as `incomplete`
            // instead of failing the creation.
            pair("payment_behavior", "default_incomplete"),
        ];
        if let Some(days) = request.trial_days.filter(|d| *d > 0) {
            form.push(pair("trial_period_days", days));
        }
        let subscription: WireSubscription = self
            .call(
                Method::POST,
                "/v1/subscriptions",
                &form,
                Some(&format!("{key}-subscription")),
            )
            .await?;
        let mut created = subscription.into_gateway()?;
        created.customer_id = created.customer_id.or(Some(customer_id));
        Ok(created)
    }

    async fn update_subscription(
        &self,
        subscription_id: &str,
        change: SubscriptionChange,
    ) -> Result<GatewaySubscription, GatewayError> {
        let path = format!("/v1/subscriptions/{}", path_id(subscription_id)?);
        let mut form = Vec::new();
        if change.price_id.is_some() || change.seat_count.is_some() {
            // Changing an item needs its id; without it Stripe adds an item.
            let current: WireSubscription = self.call(Method::GET, &path, &[], None).await?;
            let item = current.first_item().ok_or_else(|| {
                GatewayError::Rejected("the Stripe subscription has no item".into())
            })?;
            form.push(pair("items[0][id]", &item.id));
            if let Some(price) = &change.price_id {
                form.push(pair("items[0][price]", price));
            }
            if let Some(seats) = change.seat_count {
                form.push(pair("items[0][quantity]", seats));
            }
        }
        if let Some(at_end) = change.cancel_at_period_end {
            form.push(pair("cancel_at_period_end", at_end));
        }
        let key = format!("update-{subscription_id}-{}", uuid::Uuid::new_v4());
        let updated: WireSubscription = self.call(Method::POST, &path, &form, Some(&key)).await?;
        updated.into_gateway()
    }

    async fn cancel_subscription(
        &self,
        subscription_id: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        let path = format!("/v1/subscriptions/{}", path_id(subscription_id)?);
        let canceled: WireSubscription = self.call(Method::DELETE, &path, &[], None).await?;
        canceled.into_gateway()
    }

    /// One meter event; the meter's `event_name` is the feature key, and
    /// the identifier (tenant and report key) makes Stripe count a retried
    /// report once and two tenants' reports twice.
    async fn report_usage(&self, event: MeterEvent) -> Result<(), GatewayError> {
        let identifier = meter_identifier(event.tenant_id, &event.idempotency_key);
        let form = vec![
            pair("event_name", &event.feature_key),
            pair("payload[stripe_customer_id]", &event.customer_id),
            pair("payload[value]", event.quantity),
            pair("identifier", &identifier),
            pair("timestamp", event.at.unix_timestamp()),
        ];
        let _: wire::Object = self
            .call(
                Method::POST,
                "/v1/billing/meter_events",
                &form,
                Some(&format!("meter-{identifier}")),
            )
            .await?;
        Ok(())
    }
}
