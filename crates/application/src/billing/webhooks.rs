//! Applying the processor's webhook events to the stored subscription and
//! invoices, each event id at most once.

use agents_domain::billing::{
    BillingEventKind, InvoiceSnapshot, Subscription, SubscriptionSnapshot, SubscriptionStatus,
    WebhookError,
};

use super::{BillingService, BillingServiceError};

/// What became of a verified webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Applied to a stored subscription or invoice.
    Applied,
    /// Its event id was processed before: nothing done.
    Duplicate,
    /// Acknowledged without effect (unknown type or unknown subscription).
    Ignored,
}

/// Why a webhook was not processed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookFailure {
    /// Signature or payload refused (400, or 503 when unconfigured).
    #[error(transparent)]
    Refused(#[from] WebhookError),
    /// The store failed; the processor should retry.
    #[error(transparent)]
    Store(#[from] BillingServiceError),
}

impl BillingService {
    /// Verifies a delivery, then applies it unless its id was seen. The id
    /// is claimed before the change is applied, so a replay racing the
    /// first delivery can never apply twice; the price is that a store
    /// failure between the claim and the change drops that event (logged).
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
        let claimed = self
            .store
            .mark_event_processed(&event.id, now)
            .await
            .map_err(BillingServiceError::from)?;
        if !claimed {
            return Ok(WebhookOutcome::Duplicate);
        }
        let applied = match event.kind {
            BillingEventKind::SubscriptionUpdated(s) | BillingEventKind::SubscriptionDeleted(s) => {
                self.apply_subscription(s).await
            }
            BillingEventKind::InvoicePaid(i) => self.apply_invoice(i, true).await,
            BillingEventKind::InvoicePaymentFailed(i) => self.apply_invoice(i, false).await,
            BillingEventKind::Ignored(_) => Ok(WebhookOutcome::Ignored),
        };
        applied
            .inspect_err(|error| {
                tracing::error!(event = event.id, %error, "webhook event claimed but not applied");
            })
            .map_err(WebhookFailure::from)
    }

    async fn stored(&self, remote_id: &str) -> Result<Option<Subscription>, BillingServiceError> {
        let found = self.store.subscription_by_processor_id(remote_id).await?;
        if found.is_none() {
            tracing::warn!(
                subscription = remote_id,
                "webhook for a subscription we do not hold; ignored"
            );
        }
        Ok(found)
    }

    async fn apply_subscription(
        &self,
        snapshot: SubscriptionSnapshot,
    ) -> Result<WebhookOutcome, BillingServiceError> {
        let Some(mut s) = self.stored(&snapshot.processor_subscription_id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        s.status = snapshot.status;
        s.current_period_start = snapshot.current_period_start.or(s.current_period_start);
        s.current_period_end = snapshot.current_period_end.or(s.current_period_end);
        s.trial_ends_at = snapshot.trial_ends_at.or(s.trial_ends_at);
        s.cancel_at = snapshot.cancel_at;
        s.seat_count = snapshot.seat_count.or(s.seat_count);
        s.updated_at = self.clock.now();
        self.store.update_subscription(s).await?;
        Ok(WebhookOutcome::Applied)
    }

    async fn apply_invoice(
        &self,
        snapshot: InvoiceSnapshot,
        paid: bool,
    ) -> Result<WebhookOutcome, BillingServiceError> {
        let Some(mut s) = self.stored(&snapshot.processor_subscription_id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        let mut invoice = snapshot.invoice;
        invoice.subscription_id = s.id;
        self.store.upsert_invoice(invoice).await?;
        // Payment decides whether a live subscription is in good standing;
        // ended subscriptions are not revived by a late invoice.
        let status = match (paid, s.status) {
            (true, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid) => {
                Some(SubscriptionStatus::Active)
            }
            (false, SubscriptionStatus::Active) => Some(SubscriptionStatus::PastDue),
            _ => None,
        };
        if let Some(status) = status {
            s.status = status;
            s.updated_at = self.clock.now();
            self.store.update_subscription(s).await?;
        }
        Ok(WebhookOutcome::Applied)
    }
}
