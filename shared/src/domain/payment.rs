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

/// A payment's state: written `PENDING` before the provider is called, then settled once, by
/// whichever of the handler, the webhook or the reconciler learns the outcome first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// The provider was asked; its answer is not known yet. The amount is held on the order.
    Pending,
    /// The provider captured the money; it counts in the order's `paid`.
    Captured,
    /// The provider refused (declined, unusable card); nothing was taken.
    Failed,
}

/// A refund's state, settled once like a payment's. A `PENDING` refund already holds its amount
/// on the payment and the order, so concurrent refunds can never exceed what was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    /// The provider could not return the money; the held amount is refundable again.
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Captured => "CAPTURED",
            Self::Failed => "FAILED",
        }
    }
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }
}

/// A payment with its refunds, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub amount: i64,
    pub currency: Currency,
    pub status: PaymentStatus,
    /// What its refunds hold: those `PENDING` and those `SUCCEEDED`.
    pub refunded: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Payment {
    /// A new `PENDING` payment.
    pub fn pending(
        payment_id: PaymentId,
        order: (&OrderId, &CustomerId),
        amount: i64,
        currency: Currency,
        now: Timestamp,
    ) -> Self {
        Self {
            payment_id,
            order_id: *order.0,
            customer_id: order.1.clone(),
            amount,
            currency,
            status: PaymentStatus::Pending,
            refunded: 0,
            failure_reason: None,
            refunds: vec![],
            created_at: now,
            updated_at: now,
        }
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> i64 {
        match self.status {
            PaymentStatus::Captured => self.amount - self.refunded,
            PaymentStatus::Pending | PaymentStatus::Failed => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount: i64,
    pub reason: Option<String>,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Refund {
    /// A new `PENDING` refund.
    pub fn pending(
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: i64,
        reason: Option<String>,
        now: Timestamp,
    ) -> Self {
        Self {
            refund_id,
            payment_id,
            amount,
            reason,
            status: RefundStatus::Pending,
            failure_reason: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A payment's `source`: the provider's card token or payment method id,
/// `^(tok|pm|src)_[A-Za-z0-9_]{1,250}$`. Anything else (a card number sent by mistake, say) is
/// refused before it is stored anywhere.
pub fn parse_source(field: &str, source: &str) -> Result<String, FieldProblem> {
    let rest = ["tok_", "pm_", "src_"].iter().find_map(|prefix| source.strip_prefix(prefix));
    match rest {
        Some(rest)
            if (1..=250).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Ok(source.to_owned())
        }
        _ => Err(FieldProblem::new(field, "must be a card token or payment method id (tok_..., pm_... or src_...)")),
    }
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

/// Where a captured payment is at the provider: what its refunds name there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The payment intent (`pi_...`).
    pub intent: String,
    /// The charge that refunds name (`ch_...`).
    pub charge: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_provider_tokens_and_nothing_else() {
        for good in ["tok_visa", "pm_1AbC", "src_x", &format!("tok_{}", "a".repeat(250))] {
            assert_eq!(parse_source("source", good).as_deref(), Ok(good), "{good}");
        }
        let too_long = format!("tok_{}", "a".repeat(251));
        for bad in ["", "tok_", "4242424242424242", "tok visa", "tok_vi-sa", "card_x", "tok_é", too_long.as_str()] {
            assert!(parse_source("source", bad).is_err(), "{bad}");
        }
    }

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
