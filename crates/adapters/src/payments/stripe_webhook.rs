//! Stripe webhook verification: `Stripe-Signature: t=...,v1=...` checked as
//! HMAC-SHA256 over `"{t}.{payload}"` with the endpoint secret (any of
//! several `v1` may match, constant-time), within a timestamp tolerance,
//! then the event read into a domain [`BillingEvent`].

use std::time::Duration;

use agents_domain::SubscriptionId;
use agents_domain::billing::{
    BillingEvent, BillingEventKind, Invoice, InvoiceSnapshot, Period, WebhookError, WebhookVerifier,
};
use agents_domain::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;

use super::stripe::{WireInvoice, WireSubscription, unix_time};

/// Verifies deliveries signed with one endpoint secret (`whsec_...`).
#[derive(Debug)]
pub struct StripeWebhookVerifier {
    secret: Secret,
    tolerance: Duration,
}

impl StripeWebhookVerifier {
    /// A verifier with Stripe's default 5-minute tolerance.
    pub fn new(secret: impl Into<Secret>) -> Self {
        Self::with_tolerance(secret, Duration::from_secs(300))
    }

    /// A verifier accepting timestamps within `tolerance` of now.
    pub fn with_tolerance(secret: impl Into<Secret>, tolerance: Duration) -> Self {
        Self {
            secret: secret.into(),
            tolerance,
        }
    }

    /// The `Stripe-Signature` header Stripe would send for `payload` at
    /// `at`: for tests and for replaying events to a local server.
    pub fn signature_header(&self, payload: &[u8], at: OffsetDateTime) -> String {
        let t = at.unix_timestamp();
        match <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.expose().as_bytes()) {
            Ok(mut mac) => {
                mac.update(format!("{t}.").as_bytes());
                mac.update(payload);
                format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
            }
            Err(_) => format!("t={t}"),
        }
    }

    /// Checks the header against the payload at `now`. An empty secret
    /// verifies nothing: a signature made with a key everyone knows proves
    /// nothing, so such a verifier refuses every delivery as unconfigured.
    fn check(&self, payload: &[u8], header: &str, now: OffsetDateTime) -> Result<(), WebhookError> {
        if self.secret.expose().as_bytes().trim_ascii().is_empty() {
            return Err(WebhookError::NotConfigured);
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
                Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(WebhookError::InvalidSignature)?;
        let age = now
            .unix_timestamp()
            .saturating_sub(timestamp)
            .unsigned_abs();
        if age > self.tolerance.as_secs() {
            return Err(WebhookError::InvalidSignature);
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .map_err(|_| WebhookError::NotConfigured)?;
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // `verify_slice` compares in constant time.
        if signatures
            .iter()
            .any(|s| mac.clone().verify_slice(s).is_ok())
        {
            Ok(())
        } else {
            Err(WebhookError::InvalidSignature)
        }
    }
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// Seconds since the epoch; events about one subscription are applied
    /// in this order, so an event without it is not readable.
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

fn malformed(what: impl std::fmt::Display) -> WebhookError {
    WebhookError::Malformed(what.to_string())
}

fn subscription(
    object: serde_json::Value,
) -> Result<agents_domain::billing::SubscriptionSnapshot, WebhookError> {
    let wire: WireSubscription = serde_json::from_value(object).map_err(malformed)?;
    let status = wire.status.clone();
    wire.into_snapshot()
        .ok_or_else(|| malformed(format!("unknown subscription status `{status}`")))
}

fn invoice(object: serde_json::Value, paid: bool) -> Result<InvoiceSnapshot, WebhookError> {
    let wire: WireInvoice = serde_json::from_value(object).map_err(malformed)?;
    let processor_subscription_id = wire
        .subscription_id()
        .ok_or_else(|| malformed("invoice without a subscription"))?;
    let amount = if paid {
        wire.amount_paid
    } else {
        wire.amount_due
    };
    let start =
        unix_time(wire.period_start).ok_or_else(|| malformed("invoice without period_start"))?;
    let end = unix_time(wire.period_end).unwrap_or(start);
    Ok(InvoiceSnapshot {
        processor_subscription_id,
        invoice: Invoice {
            // Filled in by the application once the subscription is found.
            subscription_id: SubscriptionId::from_uuid(uuid::Uuid::nil()),
            external_invoice_id: wire.id,
            period: Period { start, end },
            amount_cents: amount.and_then(|a| i32::try_from(a).ok()).unwrap_or(0),
            currency: wire.currency.unwrap_or_else(|| "usd".into()).to_uppercase(),
            status: wire
                .status
                .unwrap_or_else(|| if paid { "paid" } else { "open" }.into()),
            hosted_invoice_url: wire.hosted_invoice_url,
        },
    })
}

impl WebhookVerifier for StripeWebhookVerifier {
    fn verify(
        &self,
        payload: &[u8],
        signature: Option<String>,
        now: OffsetDateTime,
    ) -> Result<BillingEvent, WebhookError> {
        let header = signature.ok_or(WebhookError::InvalidSignature)?;
        self.check(payload, &header, now)?;
        let event: Event = serde_json::from_slice(payload).map_err(malformed)?;
        let created = unix_time(Some(event.created))
            .ok_or_else(|| malformed(format!("`created` {} is not a time", event.created)))?;
        let object = event.data.object;
        let kind = match event.kind.as_str() {
            "customer.subscription.updated" => {
                BillingEventKind::SubscriptionUpdated(subscription(object)?)
            }
            "customer.subscription.deleted" => {
                BillingEventKind::SubscriptionDeleted(subscription(object)?)
            }
            "invoice.paid" => BillingEventKind::InvoicePaid(invoice(object, true)?),
            "invoice.payment_failed" => {
                BillingEventKind::InvoicePaymentFailed(invoice(object, false)?)
            }
            _ => BillingEventKind::Ignored(event.kind),
        };
        Ok(BillingEvent {
            id: event.id,
            created,
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
