//! Applying the processor's webhook events to the stored subscription and
//! invoices: each event id at most once, recorded in the same transaction
//! that applies it; events about one subscription in the order of their
//! `created` time (an older one arriving late changes nothing); every
//! subscription write conditional on the version read.

use agents_domain::StoreError;
use agents_domain::billing::{
    BillingError, BillingEvent, BillingEventKind, EventEffect, EventRecorded, InvoiceSnapshot,
    Subscription, SubscriptionSnapshot, SubscriptionStatus, WebhookError,
};
use time::OffsetDateTime;

use super::changes::WRITE_ATTEMPTS;
use super::{BillingService, BillingServiceError};

/// What became of a verified webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Applied to a stored subscription or invoice.
    Applied,
    /// Its event id was processed before: nothing done.
    Duplicate,
    /// Acknowledged without effect: an unknown type, an unknown
    /// subscription, an event older than the last one applied to its
    /// subscription, or a change to a subscription that has ended.
    Ignored,
}

/// Why a webhook was not processed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookFailure {
    /// Signature or payload refused (400, or 503 when unconfigured).
    #[error(transparent)]
    Refused(#[from] WebhookError),
    /// The store failed; nothing was recorded, the processor should retry.
    #[error(transparent)]
    Store(#[from] BillingServiceError),
}

/// Ended for good at the processor: no later event revives it.
fn terminal(status: SubscriptionStatus) -> bool {
    matches!(
        status,
        SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
    )
}

impl BillingService {
    /// Verifies a delivery, then records and applies it in one store
    /// transaction unless its id was recorded before. When the subscription
    /// changed between the read and the write (an API request, another
    /// event), the event is worked out again on the fresh row.
    pub async fn handle_webhook(
        &self,
        payload: &[u8],
        signature: Option<String>,
    ) -> Result<WebhookOutcome, WebhookFailure> {
        let verifier = self.webhooks.as_ref().ok_or(WebhookError::NotConfigured)?;
        let now = self.clock.now();
        let event = verifier.verify(payload, signature, now)?;
        if let BillingEventKind::Ignored(kind) = &event.kind {
            tracing::debug!(event = event.id, kind, "webhook event type ignored");
            return Ok(WebhookOutcome::Ignored);
        }
        for _ in 0..WRITE_ATTEMPTS {
            match self.apply_once(&event, now).await {
                Err(BillingError::VersionConflict) => continue,
                Err(error) => {
                    tracing::error!(event = event.id, %error, "webhook event not applied; the processor will retry it");
                    return Err(BillingServiceError::from(error).into());
                }
                Ok(outcome) => return Ok(outcome),
            }
        }
        tracing::warn!(
            event = event.id,
            "subscription kept changing while a webhook was applied"
        );
        Err(BillingServiceError::Store(StoreError::Unavailable(
            "the subscription kept changing; the processor will retry the event".into(),
        ))
        .into())
    }

    /// One attempt: read the subscription, work out the effect, record it.
    async fn apply_once(
        &self,
        event: &BillingEvent,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, BillingError> {
        let remote_id = match &event.kind {
            BillingEventKind::SubscriptionUpdated(s) | BillingEventKind::SubscriptionDeleted(s) => {
                &s.processor_subscription_id
            }
            BillingEventKind::InvoicePaid(i) | BillingEventKind::InvoicePaymentFailed(i) => {
                &i.processor_subscription_id
            }
            BillingEventKind::Ignored(_) => return Ok(WebhookOutcome::Ignored),
        };
        let mut effect = EventEffect {
            event_id: event.id.clone(),
            received_at: now,
            subscription: None,
            invoice: None,
        };
        let stored = self.store.subscription_by_processor_id(remote_id).await?;
        let outcome = match stored {
            None => {
                tracing::warn!(
                    subscription = remote_id,
                    "webhook for a subscription we do not hold; ignored"
                );
                WebhookOutcome::Ignored
            }
            Some(s) if s.last_event_at.is_some_and(|last| event.created < last) => {
                tracing::info!(
                    event = event.id,
                    subscription = remote_id,
                    "webhook event older than the last one applied to its subscription; ignored"
                );
                WebhookOutcome::Ignored
            }
            Some(s) => match &event.kind {
                BillingEventKind::SubscriptionUpdated(snapshot)
                | BillingEventKind::SubscriptionDeleted(snapshot) => {
                    if terminal(s.status) {
                        WebhookOutcome::Ignored
                    } else {
                        effect.subscription = Some(self.snapshot_applied(s, snapshot, event));
                        WebhookOutcome::Applied
                    }
                }
                BillingEventKind::InvoicePaid(invoice) => {
                    self.invoice_applied(&mut effect, s, invoice, true, event.created);
                    WebhookOutcome::Applied
                }
                BillingEventKind::InvoicePaymentFailed(invoice) => {
                    self.invoice_applied(&mut effect, s, invoice, false, event.created);
                    WebhookOutcome::Applied
                }
                BillingEventKind::Ignored(_) => WebhookOutcome::Ignored,
            },
        };
        match self.store.apply_event(effect).await? {
            EventRecorded::Duplicate => Ok(WebhookOutcome::Duplicate),
            EventRecorded::Applied => Ok(outcome),
        }
    }

    /// The subscription as the processor's snapshot says it is now.
    fn snapshot_applied(
        &self,
        mut s: Subscription,
        snapshot: &SubscriptionSnapshot,
        event: &BillingEvent,
    ) -> Subscription {
        s.status = snapshot.status;
        s.current_period_start = snapshot.current_period_start.or(s.current_period_start);
        s.current_period_end = snapshot.current_period_end.or(s.current_period_end);
        s.trial_ends_at = snapshot.trial_ends_at.or(s.trial_ends_at);
        s.cancel_at = snapshot.cancel_at;
        s.seat_count = snapshot.seat_count.or(s.seat_count);
        s.last_event_at = Some(event.created);
        s.updated_at = self.clock.now();
        s
    }

    /// The invoice, and the subscription's standing when the payment
    /// changes it. Ended subscriptions are not revived by a late invoice,
    /// and an invoice that changes nothing about the subscription does not
    /// move its event clock.
    fn invoice_applied(
        &self,
        effect: &mut EventEffect,
        mut s: Subscription,
        snapshot: &InvoiceSnapshot,
        paid: bool,
        created: OffsetDateTime,
    ) {
        let mut invoice = snapshot.invoice.clone();
        invoice.subscription_id = s.id;
        effect.invoice = Some(invoice);
        let status = match (paid, s.status) {
            (true, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid) => {
                Some(SubscriptionStatus::Active)
            }
            (false, SubscriptionStatus::Active) => Some(SubscriptionStatus::PastDue),
            _ => None,
        };
        if let Some(status) = status {
            s.status = status;
            s.last_event_at = Some(created);
            s.updated_at = self.clock.now();
            effect.subscription = Some(s);
        }
    }
}
