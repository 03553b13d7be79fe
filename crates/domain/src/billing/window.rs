//! Quota windows: the periods a tenant's usage is counted in. They belong
//! to the tenant, not to a subscription, so starting, changing, cancelling
//! or restarting a subscription never opens a fresh allowance early.
//!
//! A tenant's windows are consecutive months from an anchor, the way
//! Stripe steps a subscription's periods from its billing cycle anchor
//! (the anchor's day, clamped to shorter months, at the anchor's time).
//! The anchor is set when the tenant's first window opens (the live
//! subscription's period start, else the first of the calendar month), and
//! moves only when a period that began after the tenant's last window
//! ended (strictly: a gap without usage) opens the next one: then it cannot
//! overlap a window that counted. A renewal that starts exactly where the
//! last window ended continues the chain, keeping the anchor's day.

use time::{Date, OffsetDateTime};

use super::Period;

/// A tenant's window as stored: the anchor its months are stepped from,
/// and the last window opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    /// Months are counted from here.
    pub anchor: OffsetDateTime,
    /// The last window opened.
    pub period: Period,
}

/// `at` plus `months` calendar months, the day clamped to the target
/// month's length (Jan 31 + 1 = Feb 28, Jan 31 + 2 = Mar 31).
pub fn add_months(at: OffsetDateTime, months: u32) -> OffsetDateTime {
    let index = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
    let month = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
    let Ok(month) = time::Month::try_from(month) else {
        return at;
    };
    let day = at.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day)
        .map(|date| at.replace_date(date))
        // Only at the edge of `time`'s calendar: the step then stops.
        .unwrap_or(at)
}

/// The month of the chain from `anchor` that contains `now` (the first
/// one when `now` is before the anchor).
pub fn month_of(anchor: OffsetDateTime, now: OffsetDateTime) -> Period {
    let whole_months = |from: OffsetDateTime, to: OffsetDateTime| {
        let months = (i64::from(to.year()) - i64::from(from.year())) * 12
            + i64::from(u8::from(to.month()))
            - i64::from(u8::from(from.month()));
        u32::try_from(months.max(0)).unwrap_or(u32::MAX)
    };
    // The calendar distance, corrected by one when the day or time is not
    // reached yet in the last month.
    let mut k = whole_months(anchor, now);
    while k > 0 && add_months(anchor, k) > now {
        k -= 1;
    }
    Period {
        start: add_months(anchor, k),
        end: add_months(anchor, k.saturating_add(1)),
    }
}

/// The window to store when `stored` is not in force at `now`; `None` when
/// it is. `candidate` is the period usage would naturally count in at
/// `now`: the live subscription's current period, else the calendar month.
pub fn next_window(
    stored: Option<QuotaWindow>,
    now: OffsetDateTime,
    candidate: Period,
) -> Option<QuotaWindow> {
    let anchor = match stored {
        Some(window) if window.period.contains(now) => return None,
        // A period that began after the last window ended (a gap) overlaps
        // no counted window: it may re-anchor the chain; any other keeps it.
        Some(window) if candidate.start <= window.period.end => window.anchor,
        _ => candidate.start,
    };
    Some(QuotaWindow {
        anchor,
        period: month_of(anchor, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn period(start: OffsetDateTime, end: OffsetDateTime) -> Period {
        Period { start, end }
    }

    const DEC: Period = Period {
        start: datetime!(2026-12-01 00:00 UTC),
        end: datetime!(2027-01-01 00:00 UTC),
    };

    fn stored(anchor: OffsetDateTime, period: Period) -> Option<QuotaWindow> {
        Some(QuotaWindow { anchor, period })
    }

    #[test]
    fn months_step_from_the_anchor_day_clamped_like_stripe() {
        let jan31 = datetime!(2027-01-31 10:00 UTC);
        assert_eq!(add_months(jan31, 1), datetime!(2027-02-28 10:00 UTC));
        assert_eq!(add_months(jan31, 2), datetime!(2027-03-31 10:00 UTC));
        assert_eq!(add_months(jan31, 13), datetime!(2028-02-29 10:00 UTC));
        assert_eq!(add_months(DEC.start, 1), DEC.end);
        let in_march = month_of(jan31, datetime!(2027-03-31 09:59 UTC));
        assert_eq!(
            in_march,
            period(
                datetime!(2027-02-28 10:00 UTC),
                datetime!(2027-03-31 10:00 UTC)
            )
        );
    }

    #[test]
    fn the_first_window_is_anchored_on_the_candidate() {
        let now = datetime!(2026-12-10 00:00 UTC);
        let first = next_window(None, now, DEC);
        assert_eq!(first, stored(DEC.start, DEC));
        // A subscription started before: its period start is the anchor.
        let subscribed = period(
            datetime!(2026-11-20 08:00 UTC),
            datetime!(2026-12-20 08:00 UTC),
        );
        let first = next_window(None, now, subscribed);
        assert_eq!(first, stored(subscribed.start, subscribed));
    }

    #[test]
    fn a_window_in_force_is_kept_whatever_the_subscription_does() {
        let now = datetime!(2026-12-20 00:00 UTC);
        let resubscribed = period(
            datetime!(2026-12-19 00:00 UTC),
            datetime!(2027-01-19 00:00 UTC),
        );
        assert_eq!(next_window(stored(DEC.start, DEC), now, resubscribed), None);
    }

    #[test]
    fn a_period_begun_inside_the_last_window_does_not_move_the_chain() {
        // Subscribed (or resubscribed) on Dec 10, inside December's window:
        // the next window is January, not a fresh one from the 10th.
        let subscribed = period(
            datetime!(2026-12-10 00:00 UTC),
            datetime!(2027-01-10 00:00 UTC),
        );
        let now = datetime!(2027-01-02 00:00 UTC);
        let next = next_window(stored(DEC.start, DEC), now, subscribed);
        let january = period(DEC.end, datetime!(2027-02-01 00:00 UTC));
        assert_eq!(next, stored(DEC.start, january));
        // Nor does its renewal on Jan 10, while January is in force.
        let renewed = period(subscribed.end, datetime!(2027-02-10 00:00 UTC));
        let now = datetime!(2027-01-15 00:00 UTC);
        assert_eq!(next_window(stored(DEC.start, january), now, renewed), None);
        // After months without usage, a (yearly) period begun inside the
        // last window still steps the same chain: monthly windows.
        let now = datetime!(2027-04-15 00:00 UTC);
        let yearly = period(
            datetime!(2027-01-10 00:00 UTC),
            datetime!(2028-01-10 00:00 UTC),
        );
        let april = period(
            datetime!(2027-04-01 00:00 UTC),
            datetime!(2027-05-01 00:00 UTC),
        );
        let later = next_window(stored(DEC.start, january), now, yearly);
        assert_eq!(later, stored(DEC.start, april));
        // A monthly subscription's April period began after the last
        // window ended: the windows now follow it.
        let renewed = period(
            datetime!(2027-04-10 00:00 UTC),
            datetime!(2027-05-10 00:00 UTC),
        );
        let later = next_window(stored(DEC.start, january), now, renewed);
        assert_eq!(later, stored(renewed.start, renewed));
    }

    #[test]
    fn renewals_at_the_end_of_the_last_window_keep_the_anchor_day() {
        let anchor = datetime!(2027-01-31 10:00 UTC);
        let february = period(
            datetime!(2027-02-28 10:00 UTC),
            datetime!(2027-03-31 10:00 UTC),
        );
        let now = datetime!(2027-03-02 00:00 UTC);
        let last = stored(anchor, period(anchor, february.start));
        // Stripe's next period starts where the window ended.
        assert_eq!(next_window(last, now, february), stored(anchor, february));
    }

    #[test]
    fn a_period_begun_after_the_last_window_ended_re_anchors() {
        // No usage in January; a subscription from Jan 15 is in force.
        let subscribed = period(
            datetime!(2027-01-15 12:00 UTC),
            datetime!(2027-02-15 12:00 UTC),
        );
        let now = datetime!(2027-01-20 00:00 UTC);
        let next = next_window(stored(DEC.start, DEC), now, subscribed);
        assert_eq!(next, stored(subscribed.start, subscribed));
    }
}
