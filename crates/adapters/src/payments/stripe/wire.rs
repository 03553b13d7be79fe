//! Stripe's JSON shapes, private to the adapter, and their conversion to
//! domain values. Fields moved between API versions (periods onto items,
//! an invoice's subscription under `parent`) are read from both places.

use agents_domain::billing::{
    GatewayError, GatewaySubscription, SubscriptionSnapshot, SubscriptionStatus,
};
use serde::Deserialize;
use time::OffsetDateTime;

/// `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: StripeError,
}

/// Stripe's error object.
#[derive(Debug, Deserialize)]
pub(crate) struct StripeError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub decline_code: Option<String>,
}

/// An object with an id (customers, meter events).
#[derive(Debug, Deserialize)]
pub(crate) struct Object {
    #[allow(dead_code)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Item {
    pub id: String,
    pub quantity: Option<i64>,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Items {
    #[serde(default)]
    pub data: Vec<Item>,
}

/// A subscription object (also `data.object` of subscription events).
#[derive(Debug, Deserialize)]
pub(crate) struct Subscription {
    pub id: String,
    /// An id, or the expanded customer object.
    pub customer: Option<serde_json::Value>,
    pub status: String,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub trial_end: Option<i64>,
    pub cancel_at: Option<i64>,
    #[serde(default)]
    pub items: Items,
}

pub(crate) fn time(seconds: Option<i64>) -> Option<OffsetDateTime> {
    seconds.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
}

impl Subscription {
    pub fn status(&self) -> Option<SubscriptionStatus> {
        SubscriptionStatus::parse(&self.status)
    }

    fn customer_id(&self) -> Option<String> {
        match self.customer.as_ref()? {
            serde_json::Value::String(id) => Some(id.clone()),
            other => other.get("id")?.as_str().map(str::to_owned),
        }
    }

    pub fn first_item(&self) -> Option<&Item> {
        self.items.data.first()
    }

    fn period(&self) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let item = self.first_item();
        (
            time(
                self.current_period_start
                    .or(item.and_then(|i| i.current_period_start)),
            ),
            time(
                self.current_period_end
                    .or(item.and_then(|i| i.current_period_end)),
            ),
        )
    }

    /// The gateway's view; an unknown status is an unreadable answer.
    pub fn into_gateway(self) -> Result<GatewaySubscription, GatewayError> {
        let status = self.status().ok_or_else(|| {
            GatewayError::Unavailable(format!("Stripe sent an unknown status `{}`", self.status))
        })?;
        let (start, end) = self.period();
        Ok(GatewaySubscription {
            processor: "stripe".into(),
            customer_id: self.customer_id(),
            subscription_id: Some(self.id),
            status,
            current_period_start: start,
            current_period_end: end,
            trial_ends_at: time(self.trial_end),
            cancel_at: time(self.cancel_at),
        })
    }

    /// The snapshot a webhook carries, `None` for an unknown status.
    pub fn into_snapshot(self) -> Option<SubscriptionSnapshot> {
        let status = self.status()?;
        let (start, end) = self.period();
        let seat_count = self
            .first_item()
            .and_then(|i| i.quantity)
            .and_then(|q| i32::try_from(q).ok());
        Some(SubscriptionSnapshot {
            processor_subscription_id: self.id,
            status,
            current_period_start: start,
            current_period_end: end,
            trial_ends_at: time(self.trial_end),
            cancel_at: time(self.cancel_at),
            seat_count,
        })
    }
}

/// `parent.subscription_details.subscription` (API 2025-03-31 and later).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InvoiceParent {
    pub subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubscriptionDetails {
    pub subscription: Option<serde_json::Value>,
}

/// An invoice object (`data.object` of invoice events).
#[derive(Debug, Deserialize)]
pub(crate) struct Invoice {
    pub id: String,
    /// Before API 2025-03-31: an id or the expanded object.
    pub subscription: Option<serde_json::Value>,
    #[serde(default)]
    pub parent: Option<InvoiceParent>,
    pub amount_due: Option<i64>,
    pub amount_paid: Option<i64>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
}

fn id_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(id) => Some(id.clone()),
        other => other.get("id")?.as_str().map(str::to_owned),
    }
}

impl Invoice {
    pub fn subscription_id(&self) -> Option<String> {
        self.subscription.as_ref().and_then(id_of).or_else(|| {
            self.parent
                .as_ref()?
                .subscription_details
                .as_ref()?
                .subscription
                .as_ref()
                .and_then(id_of)
        })
    }
}
