//! The clock port: every timestamp the core writes comes from here, so tests
//! can pin time.

use time::OffsetDateTime;

/// A source of the current UTC time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, truncated to microseconds (what Postgres stores), so a
/// value written and read back compares equal.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        let micros = now.microsecond();
        now.replace_microsecond(micros).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_drops_sub_microsecond_precision() {
        let now = SystemClock.now();
        assert_eq!(now.nanosecond() % 1_000, 0);
        assert_eq!(now.offset(), time::UtcOffset::UTC);
    }
}
