//! Billing value objects, parsed at the edge.

use crate::FieldError;

/// The quantity of one usage report: 1 to 1,000,000. The bound keeps one
/// report from swamping a total, and totals far from any integer limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageQuantity(i64);

impl UsageQuantity {
    /// The largest quantity one report may carry.
    pub const MAX: i64 = 1_000_000;

    /// Checks the range. Errors name the field `quantity`.
    pub fn parse(value: i64) -> Result<Self, FieldError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(FieldError::new(
                "quantity",
                format!("must be between 1 and {}", Self::MAX),
            ))
        }
    }

    /// The quantity.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_one_to_a_million() {
        assert_eq!(UsageQuantity::parse(1).map(UsageQuantity::get), Ok(1));
        assert_eq!(
            UsageQuantity::parse(1_000_000).map(UsageQuantity::get),
            Ok(1_000_000)
        );
        for bad in [0, -1, 1_000_001, i64::MAX, i64::MIN] {
            let err = UsageQuantity::parse(bad).expect_err("out of range");
            assert_eq!(err.field, "quantity");
        }
    }
}
