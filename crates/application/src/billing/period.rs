//! Billing periods: the subscription's current period, or the calendar
//! month (UTC) for tenants without one.

use agents_domain::billing::{Period, Subscription};
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

/// The period usage counts in at `now`: the subscription's current period
/// when `now` lies inside it, else the calendar month. (A locally provisioned
/// subscription's period does not roll over, so an expired one falls back.)
pub fn current_period(subscription: Option<&Subscription>, now: OffsetDateTime) -> Period {
    if let Some(s) = subscription
        && let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end)
        && start <= now
        && now < end
    {
        return Period { start, end };
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
}
