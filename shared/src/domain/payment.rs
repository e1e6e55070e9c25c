use serde::{Deserialize, Serialize};

use super::{Currency, CustomerId, OrderId, PaymentId, RefundId, Timestamp};
use crate::error::FieldProblem;

/// The largest amount a payment or refund can carry: the largest possible order total
/// (100 items x 1000 x 100,000,000 minor units).
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;
/// The longest refund reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// An amount of money to move: 1 to [`MAX_AMOUNT`] minor units.
pub fn parse_amount(field: &str, amount: i64) -> Result<i64, FieldProblem> {
    if (1..=MAX_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(FieldProblem::new(field, format!("must be from 1 to {MAX_AMOUNT} minor units")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Captured,
}

/// A captured payment with its refunds, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub amount: i64,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub refunded: i64,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    pub created_at: Timestamp,
}

impl Payment {
    /// What can still be refunded.
    pub fn refundable(&self) -> i64 {
        self.amount - self.refunded
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount: i64,
    pub reason: Option<String>,
    pub created_at: Timestamp,
}

/// A refund reason: at most [`MAX_REASON_CHARS`] characters, no control characters.
pub fn parse_reason(reason: Option<String>) -> Result<Option<String>, FieldProblem> {
    match reason {
        Some(r) if r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control) => Err(FieldProblem::new(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters, without control characters"),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert_eq!(parse_amount("amount", 1), Ok(1));
        assert_eq!(parse_amount("amount", MAX_AMOUNT), Ok(MAX_AMOUNT));
        for bad in [0, -1, MAX_AMOUNT + 1, i64::MIN] {
            assert!(parse_amount("amount", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reasons_are_bounded_and_printable() {
        assert_eq!(parse_reason(None), Ok(None));
        assert!(parse_reason(Some("damaged, \"badly\" — sorry".into())).is_ok());
        assert!(parse_reason(Some("x".repeat(501))).is_err());
        assert!(parse_reason(Some("line\nbreak".into())).is_err());
    }
}
