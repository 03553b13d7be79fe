//! Key creation rules, authentication and budgets over the in-memory fakes.

use super::*;

#[test]
fn a_month_starts_on_the_first_at_midnight_utc() {
    let at = time::macros::datetime!(2026-02-17 13:45:12 +02:00);
    assert_eq!(
        month_start(at),
        time::macros::datetime!(2026-02-01 00:00 UTC)
    );
}
