//! The payment provider: the card processor behind a Stripe-style HTTP API. The platform talks to
//! it only through [`PaymentProvider`]; [`StripeProvider`] is the adapter, used in AWS against the
//! real provider and locally against the project's emulator of its API.
//!
//! Every mutating call carries the provider's `Idempotency-Key`, set to our own payment or refund
//! id, so asking again is always safe: the provider answers a repeated call with its first answer
//! and never charges or refunds twice. An answer that did not arrive (a timeout, a lost connection,
//! a 5xx) is [`Unanswered`]: not a failure, an unknown, settled later by the webhook or by asking
//! again (reconciliation).

mod limits;
mod stripe;
pub mod webhook;

use std::collections::BTreeMap;
use std::future::Future;

use tracing::Instrument;

pub use limits::AmountLimits;
pub use stripe::{ProviderSettings, StripeProvider};

pub use crate::domain::Capture;
use crate::domain::{Currency, OrderId, PaymentId, RefundId, Timestamp};

/// What to charge: repeated with the same values whenever the outcome is asked for again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub payment_id: PaymentId,
    pub order_id: OrderId,
    /// The card token the client sent.
    pub source: String,
    pub amount: i64,
    pub currency: Currency,
}

/// The provider's definitive answer to a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Captured(Capture),
    /// The card was declined, or needs an authentication this API does not support; nothing was
    /// taken. The reason is a short code (`card_declined`, `insufficient_funds`,
    /// `authentication_required`), never the provider's text.
    Declined(&'static str),
    /// The provider does not know the card token; nothing was taken.
    InvalidSource,
    /// The provider refused the request for good (an amount outside its limits, an unsupported
    /// currency, a key it does not accept); nothing was taken.
    Refused,
}

/// The failure reason of money the provider refused for good.
pub const PROVIDER_REFUSED: &str = "provider_refused";

/// What to refund, repeated with the same values whenever the outcome is asked for again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    /// The charge to refund ([`Capture::charge`]).
    pub charge: String,
    pub amount: i64,
}

/// The provider's answer to a refund, with its id (`re_...`) when it made one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        id: String,
    },
    /// Accepted; the money moves later, and the provider says how by webhook or when asked.
    Pending {
        id: String,
    },
    /// Refused or failed: nothing was returned to the card.
    Failed {
        id: Option<String>,
        reason: String,
    },
}

/// One of our movements as the provider's books hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub amount: i64,
    /// Upper-case ISO code.
    pub currency: String,
    /// Whether the money moved: a charge captured, a refund succeeded.
    pub moved: bool,
    /// When the provider made it (whole seconds).
    pub created: Timestamp,
}

/// The provider's own books for a period: our charges by payment id and our refunds by refund id
/// (the ids in their metadata), what the daily report compares the ledger with, movement by
/// movement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderBooks {
    pub captures: BTreeMap<String, Held>,
    pub refunds: BTreeMap<String, Held>,
}

/// The provider's answer did not arrive, or was not one we understand: the operation may or may
/// not have happened.
#[derive(Debug, thiserror::Error)]
#[error("the payment provider gave no usable answer to {operation}")]
pub struct Unanswered {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// How the provider answered, as the span of a call to it records it (`answer`).
pub trait Answer {
    /// The provider said no: nothing moved, and asking again changes nothing.
    fn refused(&self) -> bool;
}

impl Answer for ChargeOutcome {
    fn refused(&self) -> bool {
        !matches!(self, Self::Captured(_))
    }
}

impl Answer for RefundOutcome {
    fn refused(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

/// `answered`, `refused` (see [`Answer`]) or `unanswered` (no answer to go by: it may or may not
/// have happened).
pub fn answer_class<T: Answer>(outcome: &Result<T, Unanswered>) -> &'static str {
    match outcome {
        Ok(answer) if answer.refused() => "refused",
        Ok(_) => "answered",
        Err(_) => "unanswered",
    }
}

/// Runs `call`, an ask of the provider (its HTTP calls, the lookups before them), in a span named
/// `provider` with its `operation` and the class of its `answer`.
pub async fn asked<T: Answer>(
    operation: &'static str,
    call: impl Future<Output = Result<T, Unanswered>>,
) -> Result<T, Unanswered> {
    let span = tracing::info_span!("provider", operation, answer = tracing::field::Empty);
    // On the heap: the ask's state (the HTTP exchange, the lookups) would otherwise sit in every
    // future that awaits it, deepening each poll's stack.
    let outcome = Box::pin(call).instrument(span.clone()).await;
    span.record("answer", answer_class(&outcome));
    outcome
}

/// A card processor with a Stripe-style API. Amounts are minor units.
pub trait PaymentProvider: Send + Sync {
    /// The amounts it takes per currency.
    fn limits(&self) -> &AmountLimits;

    /// Creates and confirms a payment intent with automatic capture, keyed by the payment id.
    /// Asked again with the same request within the provider's key window (24 hours), it returns
    /// the first outcome; after it, it would be a new charge.
    fn charge(&self, request: &ChargeRequest) -> impl Future<Output = Result<ChargeOutcome, Unanswered>> + Send;

    /// The outcome of the charge the provider holds for a payment, looked up by our id without
    /// asking for one; `None` when it holds none.
    fn find_charge(
        &self,
        payment_id: &PaymentId,
    ) -> impl Future<Output = Result<Option<ChargeOutcome>, Unanswered>> + Send;

    /// Refunds part or all of a charge, keyed by the refund id (the same 24-hour window).
    fn refund(&self, request: &RefundRequest) -> impl Future<Output = Result<RefundOutcome, Unanswered>> + Send;

    /// The refund the provider holds under our refund id on the request's charge, without asking
    /// for one; `None` when it holds none.
    fn find_refund(
        &self,
        request: &RefundRequest,
    ) -> impl Future<Output = Result<Option<RefundOutcome>, Unanswered>> + Send;

    /// Where a refund the provider made (`re_...`) stands now.
    fn refund_status(&self, id: &str) -> impl Future<Output = Result<RefundOutcome, Unanswered>> + Send;

    /// The charges and refunds it made for the platform (those that carry our ids in their
    /// metadata) from `from` until before `to` (by when it created each, in whole seconds).
    fn books(&self, from: Timestamp, to: Timestamp) -> impl Future<Output = Result<ProviderBooks, Unanswered>> + Send;
}
