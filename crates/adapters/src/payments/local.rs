//! The `local` gateway: no processor behind it. Subscriptions are
//! provisioned immediately, carry no processor ids (nothing pretends to be
//! Stripe), and usage stays in our own records.

use std::sync::Arc;

use agents_domain::billing::{
    GatewayError, GatewaySubscription, MeterEvent, NewCustomer, NewGatewaySubscription,
    PaymentGateway, SubscriptionChange, SubscriptionStatus,
};
use agents_domain::clock::Clock;
use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

/// Provisions subscriptions without a payment processor.
pub struct LocalGateway {
    clock: Arc<dyn Clock>,
}

impl LocalGateway {
    /// A gateway dating subscriptions by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// `at` plus one calendar month, the day clamped to the month's length.
fn one_month_after(at: OffsetDateTime) -> OffsetDateTime {
    let (year, month) = match at.month() {
        time::Month::December => (at.year() + 1, time::Month::January),
        m => (at.year(), m.next()),
    };
    let day = at.day().min(time::util::days_in_month(month, year));
    time::Date::from_calendar_date(year, month, day)
        .map(|date| at.replace_date(date))
        .unwrap_or(at + Duration::days(31))
}

fn no_processor() -> GatewayError {
    GatewayError::Rejected("local subscriptions have no processor-side subscription".into())
}

#[async_trait]
impl PaymentGateway for LocalGateway {
    fn name(&self) -> &'static str {
        "local"
    }

    /// No processor, no customers.
    async fn create_customer(&self, _request: NewCustomer) -> Result<Option<String>, GatewayError> {
        Ok(None)
    }

    async fn create_subscription(
        &self,
        request: NewGatewaySubscription,
    ) -> Result<GatewaySubscription, GatewayError> {
        let now = self.clock.now();
        let trial_days = request.trial_days.filter(|d| *d > 0);
        Ok(GatewaySubscription {
            processor: self.name().to_owned(),
            customer_id: None,
            subscription_id: None,
            status: if trial_days.is_some() {
                SubscriptionStatus::Trialing
            } else {
                SubscriptionStatus::Active
            },
            current_period_start: Some(now),
            current_period_end: Some(one_month_after(now)),
            trial_ends_at: trial_days.map(|d| now + Duration::days(i64::from(d))),
            cancel_at: None,
        })
    }

    async fn update_subscription(
        &self,
        _subscription_id: &str,
        _change: SubscriptionChange,
    ) -> Result<GatewaySubscription, GatewayError> {
        Err(no_processor())
    }

    async fn cancel_subscription(
        &self,
        _subscription_id: &str,
    ) -> Result<GatewaySubscription, GatewayError> {
        Err(no_processor())
    }

    /// Our own usage records are the only meter: nothing to forward.
    async fn report_usage(&self, _event: MeterEvent) -> Result<(), GatewayError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_month_later_clamps_the_day() {
        assert_eq!(
            one_month_after(datetime!(2026-01-31 10:00 UTC)),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            one_month_after(datetime!(2026-12-15 00:00 UTC)),
            datetime!(2027-01-15 00:00 UTC)
        );
    }
}
