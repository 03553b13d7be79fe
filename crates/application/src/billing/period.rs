//! Billing periods: the subscription's current period, or the calendar
//! month (UTC) for tenants without one. Usage counts in the tenant's quota
//! window, which the store opens from this period (see
//! `agents_domain::billing::next_window`).

use agents_domain::billing::{Period, Subscription, month_of};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The calendar month (UTC) containing `now`.
pub fn calendar_month(now: OffsetDateTime) -> Period {
    let now = now.to_offset(time::UtcOffset::UTC);
    let first = |year: i32, month: Month| {
        Date::from_calendar_date(year, month, 1)
            .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
    };
    let (next_year, next_month) = match now.month() {
        Month::December => (now.year() + 1, Month::January),
        m => (now.year(), m.next()),
    };
    match (first(now.year(), now.month()), first(next_year, next_month)) {
        (Ok(start), Ok(end)) => Period { start, end },
        // Only reachable at the edge of `time`'s calendar: fall back to a
        // 31-day window rather than failing a request.
        _ => Period {
            start: now,
            end: now + time::Duration::days(31),
        },
    }
}

/// The period usage would naturally count in at `now` (the candidate for
/// the next quota window): the live subscription's current period when
/// `now` lies inside it; when that period has ended (a local subscription
/// never renews, a Stripe renewal may not be synced yet), the month of its
/// monthly chain containing `now`; else the calendar month.
pub fn current_period(subscription: Option<&Subscription>, now: OffsetDateTime) -> Period {
    if let Some(s) = subscription
        && let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end)
        && start <= now
    {
        return if now < end {
            Period { start, end }
        } else {
            month_of(start, now)
        };
    }
    calendar_month(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn calendar_months_are_half_open_and_roll_over_the_year() {
        let p = calendar_month(datetime!(2026-12-31 23:59:59 UTC));
        assert_eq!(p.start, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(p.end, datetime!(2027-01-01 00:00 UTC));
        let p = calendar_month(datetime!(2026-02-01 00:00 UTC));
        assert_eq!(p.end, datetime!(2026-03-01 00:00 UTC));
    }

    #[test]
    fn an_ended_period_of_a_live_subscription_continues_month_by_month() {
        use agents_domain::billing::{Subscription, SubscriptionStatus};
        use agents_domain::{PlanId, SubscriptionId, TenantId};
        let start = datetime!(2027-01-31 10:00 UTC);
        let s = Subscription {
            id: SubscriptionId::new(),
            tenant_id: TenantId::new(),
            plan_id: PlanId::new(),
            plan_code: "pro".into(),
            status: SubscriptionStatus::Active,
            auto_renew: true,
            billing_email: None,
            processor: None,
            processor_customer_id: None,
            processor_subscription_id: None,
            starts_at: start,
            current_period_start: Some(start),
            current_period_end: Some(datetime!(2027-02-28 10:00 UTC)),
            trial_ends_at: None,
            cancel_at: None,
            seat_count: None,
            metadata: serde_json::json!({}),
            created_at: start,
            updated_at: start,
            version: 0,
            last_event_at: None,
        };
        let inside = current_period(Some(&s), datetime!(2027-02-10 00:00 UTC));
        assert_eq!(inside.end, datetime!(2027-02-28 10:00 UTC));
        // Not renewed (local) or not synced yet: its chain goes on.
        let after = current_period(Some(&s), datetime!(2027-03-02 00:00 UTC));
        assert_eq!(
            (after.start, after.end),
            (
                datetime!(2027-02-28 10:00 UTC),
                datetime!(2027-03-31 10:00 UTC)
            )
        );
        let none = current_period(None, datetime!(2027-03-02 00:00 UTC));
        assert_eq!(none.start, datetime!(2027-03-01 00:00 UTC));
    }
}
