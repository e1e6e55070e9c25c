//! The cashier, the one door for money: paying for an order, refunding a payment, applying what
//! the provider reports, and reconciling what is still pending. The payment routes, the provider's
//! webhook and the reconciler each make one call here. Every settlement is one conditional
//! transaction on a `PENDING` item, so whichever learns the outcome first wins and the others
//! change nothing. `docs/payments.md` has the state machines and every fault.

mod reconcile;
mod settle;

pub use reconcile::{Reconciled, STUCK_AFTER_MILLIS, next_look};

use crate::domain::{
    Caller, Currency, OrderId, Payment, PaymentId, PaymentStatus, Refund, RefundId, RefundStatus, Timestamp,
};
use crate::error::{Error, Result};
use crate::events::EventPublisher;
use crate::faults::{self, Point};
use crate::payment_provider::{
    ChargeOutcome, ChargeRequest, PROVIDER_REFUSED, PaymentProvider, RefundOutcome, RefundRequest, Unanswered, asked,
};
use crate::store::{Begun, IdempotencyStore, OrderStore, PaymentSettlement, PaymentStore, StoredPayment};

/// The cashier, with the provider and the stores and queue its moves touch. Built once per cold
/// start by the payment routes, the webhook and the reconciler (`aws::cashier`).
#[derive(Debug, Clone)]
pub struct Cashier<P> {
    pub orders: OrderStore,
    pub payments: PaymentStore,
    pub idempotency: IdempotencyStore,
    pub events: EventPublisher,
    pub provider: P,
}

/// The webhook's provider: none. It records what the provider said and never asks it anything,
/// so it holds no key to the provider's API (and its role may not read that secret).
#[derive(Debug, Clone, Copy)]
pub struct NoProvider;

/// A payment a caller asks for, its input checked.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub order_id: OrderId,
    pub amount: i64,
    pub currency: Currency,
    /// The card token.
    pub source: String,
}

/// A refund a caller asks for, its input checked: `amount` (all that is refundable when `None`).
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// The 402 of a payment that failed, naming its failure reason (a short code, never the
/// provider's text).
pub fn declined(reason: &str) -> Error {
    Error::PaymentDeclined(format!("the payment failed: {reason}").into())
}

/// How long after a movement began it may still be asked for again: the provider keeps an
/// idempotency key 24 hours, after which the same request would move money a second time. An hour
/// short of that, for clocks that differ and a request in flight.
pub const KEY_WINDOW_MILLIS: i64 = 23 * 3600 * 1000;

/// Whether the provider may already hold the movement being asked for.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// The request that wrote it, asking for the first time: the provider cannot hold it yet.
    First,
    /// Any later ask (a retried request, the reconciler): the provider is asked to look it up by
    /// our id first, and to make it (with the same key) only while it still keeps that key.
    Again { now: Timestamp },
}

/// The no-answer of a movement the provider does not hold and can no longer be asked to make.
fn key_expired(operation: &'static str) -> Unanswered {
    let why =
        "the provider holds none under our id, and it no longer keeps the key: asking again could move money twice";
    Unanswered { operation, source: why.into() }
}

/// What a charge came to.
#[derive(Debug)]
enum Charged {
    /// The payment as it stands: `CAPTURED`, `PENDING` (the answer is not known yet), or `FAILED`
    /// by an earlier attempt.
    Payment(Payment),
    /// The provider refused it now: declined (402) or an unusable card token (400).
    Refused(Error),
}

impl<P: PaymentProvider> Cashier<P> {
    /// Pays for an order: writes the payment `PENDING` with a hold on the order, asks the provider
    /// to charge the card and settles its answer. Returns the payment as it stands (`CAPTURED`,
    /// `PENDING` while the answer is not known, or `FAILED` by an earlier attempt), or the
    /// provider's refusal now (declined, or an unusable card token). With an idempotency `key`,
    /// the payment's id is the key's, so a retry carries on the payment its first run wrote.
    pub async fn pay(&self, caller: &Caller, new: NewPayment, key: Option<&str>) -> Result<Payment> {
        crate::telemetry::about_order(&new.order_id);
        // Refuse early what cannot succeed; the transaction below checks all of it again, atomically.
        let order = self
            .orders
            .get(&new.order_id)
            .await?
            .filter(|o| caller.can_access(&o.customer_id))
            .ok_or_else(Error::order_not_found)?;
        let payment_id = key.map_or_else(PaymentId::new, |key| PaymentId::for_key(&caller.customer_id, key));
        let payment = Payment::pending(
            payment_id,
            (&order.order_id, &order.customer_id),
            new.amount,
            new.currency,
            Timestamp::now(),
        );
        let begun = StoredPayment::new(payment, new.source);
        let (stored, ask) = match self.payments.begin(caller, &order, &begun).await? {
            Begun::Started => (begun, Ask::First),
            // The same request ran before: carry on from where it got to.
            Begun::Existing(stored) if stored.payment.status == PaymentStatus::Pending => {
                (stored, Ask::Again { now: Timestamp::now() })
            }
            Begun::Existing(stored) => return Ok(stored.payment),
        };
        faults::point(Point::AfterPaymentWrite);
        match self.charge(&stored, ask).await? {
            Charged::Payment(payment) => Ok(payment),
            Charged::Refused(refusal) => Err(refusal),
        }
    }

    /// Refunds a payment: holds the amount on the payment and its order (`PENDING`), asks the
    /// provider and settles its answer. Returns the refund as it stands: `SUCCEEDED`, `FAILED`
    /// (the amount refundable again), or `PENDING` while the money has not moved yet. With an
    /// idempotency `key`, the refund's id is the key's, so a retry finds the refund its first run
    /// wrote.
    pub async fn refund(
        &self,
        caller: &Caller,
        payment_id: PaymentId,
        new: NewRefund,
        key: Option<&str>,
    ) -> Result<Refund> {
        let keyed = key.map(|key| RefundId::for_key(&caller.customer_id, key));
        let stored = self
            .payments
            .get_with_refund(&payment_id, keyed.as_ref())
            .await?
            .filter(|p| caller.can_access(&p.payment.customer_id))
            .ok_or_else(Error::payment_not_found)?;
        crate::telemetry::about_order(&stored.payment.order_id);
        let refund_id = keyed.unwrap_or_default(); // a new id
        let (refund, ask) = match stored.payment.refunds.iter().find(|r| r.refund_id == refund_id) {
            // The same request ran before and got as far as its hold.
            Some(done) => (done.clone(), Ask::Again { now: Timestamp::now() }),
            None => {
                let payment = &stored.payment;
                let amount = new.amount.unwrap_or(payment.refundable());
                if amount == 0 || amount > payment.refundable() {
                    return Err(Error::Conflict(format!("only {} can still be refunded", payment.refundable()).into()));
                }
                let refund = Refund::pending(refund_id, payment_id, amount, new.reason, Timestamp::now());
                match self.payments.begin_refund(payment, &refund).await? {
                    Begun::Started => (refund, Ask::First),
                    Begun::Existing(existing) => (existing, Ask::Again { now: Timestamp::now() }),
                }
            }
        };
        if refund.status != RefundStatus::Pending {
            return Ok(refund);
        }
        faults::point(Point::AfterRefundHold);
        self.ask_refund(&stored, &refund, ask).await
    }

    /// Asks the provider to charge a `PENDING` payment and settles its answer. Asked again, the
    /// provider looks the payment up by its id first and charges only while it keeps the key (the
    /// payment id), so a card is charged once however often this runs.
    async fn charge(&self, stored: &StoredPayment, ask: Ask) -> Result<Charged> {
        let p = &stored.payment;
        let request = ChargeRequest {
            payment_id: p.payment_id,
            order_id: p.order_id,
            source: stored.source.clone(),
            amount: p.amount,
            currency: p.currency,
        };
        let outcome = self.charge_outcome(&request, stored.payment.created_at, ask).await;
        faults::point(Point::AfterCharge);
        let (settlement, refusal) = match outcome {
            Ok(ChargeOutcome::Captured(capture)) => (PaymentSettlement::Captured(capture), None),
            Ok(ChargeOutcome::Declined(code)) => (PaymentSettlement::Failed(code.into()), Some(declined(code))),
            Ok(ChargeOutcome::InvalidSource) => (
                PaymentSettlement::Failed(PROVIDER_REFUSED.into()),
                Some(Error::invalid("source", "is not a card token the payment provider knows")),
            ),
            Ok(ChargeOutcome::Refused) => {
                (PaymentSettlement::Failed(PROVIDER_REFUSED.into()), Some(declined(PROVIDER_REFUSED)))
            }
            Err(unanswered) => {
                tracing::warn!(payment_id = %stored.payment.payment_id, error = %unanswered, "payment left PENDING");
                return Ok(Charged::Payment(stored.payment.clone()));
            }
        };
        let payment = self.settle(&stored.payment, &settlement).await?;
        Ok(match refusal {
            Some(refusal) if payment.status == PaymentStatus::Failed => Charged::Refused(refusal),
            _ => Charged::Payment(payment),
        })
    }

    /// The provider's outcome of a charge: asked for on the first ask; on a later one looked up by
    /// our id, and asked for again (the same key) only while the provider keeps that key.
    async fn charge_outcome(
        &self,
        request: &ChargeRequest,
        began: Timestamp,
        ask: Ask,
    ) -> std::result::Result<ChargeOutcome, Unanswered> {
        asked("charge", async {
            if let Ask::Again { now } = ask {
                if let Some(found) = self.provider.find_charge(&request.payment_id).await? {
                    return Ok(found);
                }
                if now.millis() - began.millis() >= KEY_WINDOW_MILLIS {
                    return Err(key_expired("a charge"));
                }
            }
            self.provider.charge(request).await
        })
        .await
    }

    /// The provider's outcome of a refund, as [`Self::charge_outcome`]: a refund the provider
    /// made is read by its id, one it may hold looked up among the charge's refunds.
    async fn refund_outcome(
        &self,
        request: &RefundRequest,
        (began, provider_id): (Timestamp, Option<&str>),
        ask: Ask,
    ) -> std::result::Result<RefundOutcome, Unanswered> {
        asked("refund", async {
            if let Ask::Again { now } = ask {
                if let Some(id) = provider_id {
                    return self.provider.refund_status(id).await;
                }
                if let Some(found) = self.provider.find_refund(request).await? {
                    return Ok(found);
                }
                if now.millis() - began.millis() >= KEY_WINDOW_MILLIS {
                    return Err(key_expired("a refund"));
                }
            }
            self.provider.refund(request).await
        })
        .await
    }

    /// Asks the provider to refund (see [`Self::refund_outcome`]) and settles its answer; returns
    /// the refund as it now stands.
    async fn ask_refund(&self, stored: &StoredPayment, refund: &Refund, ask: Ask) -> Result<Refund> {
        let Some(capture) = &stored.capture else {
            return Err(Error::internal("refunding", "a captured payment without its charge"));
        };
        let request = RefundRequest {
            refund_id: refund.refund_id,
            payment_id: stored.payment.payment_id,
            charge: capture.charge.clone(),
            amount: refund.amount,
        };
        let provider_id = stored.provider_refunds.get(&refund.refund_id).map(String::as_str);
        let outcome = self.refund_outcome(&request, (refund.created_at, provider_id), ask).await;
        faults::point(Point::AfterRefund);
        self.settle_refund_outcome(&stored.payment, refund, outcome).await
    }
}
