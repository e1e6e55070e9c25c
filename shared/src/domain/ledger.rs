//! The ledger: one immutable entry per step of a money movement (a capture or a refund begun,
//! then settled), written in the same transaction as the step, so the books of any past day can
//! be read back exactly as they stood.

use serde::{Deserialize, Serialize};

use super::{
    Currency, CustomerId, OrderId, Payment, PaymentId, PaymentStatus, Refund, RefundId, RefundStatus, Timestamp,
};

/// What kind of money movement an entry is a step of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Movement {
    /// A payment: money taken from the card.
    Capture,
    /// A refund: money given back to it.
    Refund,
}

impl Movement {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capture => "CAPTURE",
            Self::Refund => "REFUND",
        }
    }
}

/// One step of a money movement: begun (`PENDING`) or settled (`CAPTURED`, `SUCCEEDED`, `FAILED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub movement: Movement,
    pub payment_id: PaymentId,
    /// Set on a refund's entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub amount: i64,
    pub currency: Currency,
    /// The payment's or refund's status after this step.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// When the movement began (its first step).
    pub initiated_at: Timestamp,
    /// When this step happened: the entry belongs to this UTC day.
    pub at: Timestamp,
}

impl LedgerEntry {
    /// A step of a payment, now `status`.
    pub fn capture(payment: &Payment, status: PaymentStatus, failure_reason: Option<&str>, at: Timestamp) -> Self {
        Self {
            movement: Movement::Capture,
            payment_id: payment.payment_id,
            refund_id: None,
            order_id: payment.order_id,
            customer_id: payment.customer_id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            status: status.as_str().to_owned(),
            failure_reason: failure_reason.map(str::to_owned),
            initiated_at: payment.created_at,
            at,
        }
    }

    /// A step of a refund of `payment`, now `status`.
    pub fn refund(
        payment: &Payment,
        refund: &Refund,
        status: RefundStatus,
        failure_reason: Option<&str>,
        at: Timestamp,
    ) -> Self {
        Self {
            movement: Movement::Refund,
            refund_id: Some(refund.refund_id),
            amount: refund.amount,
            status: status.as_str().to_owned(),
            initiated_at: refund.created_at,
            ..Self::capture(payment, PaymentStatus::Captured, failure_reason, at)
        }
    }

    /// The payment's or the refund's id.
    pub fn movement_id(&self) -> String {
        self.refund_id.map_or_else(|| self.payment_id.to_string(), |r| r.to_string())
    }

    /// A shard that every step of the same movement shares.
    pub fn shard(&self, shards: u32) -> u32 {
        self.refund_id.map_or_else(|| self.payment_id.shard(shards), |r| r.shard(shards))
    }

    /// Whether this is the movement's first step (its `PENDING`), not its settlement.
    pub fn is_first_step(&self) -> bool {
        self.status == PaymentStatus::Pending.as_str()
    }
}
