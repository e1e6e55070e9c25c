//! Settling: recording an outcome the provider gave (the route's answer, the webhook's event, the
//! reconciler's look), which needs the stores and queue alone, never the provider.

use super::{Cashier, NoProvider};
use crate::domain::{Payment, PaymentStatus, Refund, RefundStatus, Timestamp};
use crate::error::{Error, Result};
use crate::events::OutboxEntry;
use crate::metrics::{self, Metric};
use crate::outbox;
use crate::payment_provider::webhook::ProviderEvent;
use crate::payment_provider::{RefundOutcome, Unanswered};
use crate::store::{PaymentSettlement, RefundSettlement};

/// Settling: recording an outcome the provider gave, which needs the stores and queue alone.
impl<P> Cashier<P> {
    /// Applies what the provider reports (its webhook): settles the payment or refund the event
    /// names if it is still `PENDING`; a repeated, late or out-of-order event changes nothing, and
    /// an event about money that is not ours is acknowledged and ignored.
    pub async fn apply(&self, event: ProviderEvent) -> Result<()> {
        let (payment_id, refund_id) = match &event {
            ProviderEvent::PaymentCaptured { payment_id, .. } | ProviderEvent::PaymentFailed { payment_id, .. } => {
                (*payment_id, None)
            }
            ProviderEvent::Refund { payment_id, refund_id, .. } => (*payment_id, Some(*refund_id)),
            ProviderEvent::Ignored => return Ok(()),
        };
        let Some(stored) = self.payments.get_with_refund(&payment_id, refund_id.as_ref()).await? else {
            return Ok(());
        };
        // The event is the provider's, not a step of the payment's request: a link, not a parent.
        crate::telemetry::links_to(&tracing::Span::current(), stored.traceparent.as_deref());
        crate::telemetry::about_order(&stored.payment.order_id);
        match event {
            ProviderEvent::PaymentCaptured { capture, .. } if stored.payment.status == PaymentStatus::Pending => {
                self.settle(&stored.payment, &PaymentSettlement::Captured(capture)).await?;
            }
            ProviderEvent::PaymentFailed { reason, .. } if stored.payment.status == PaymentStatus::Pending => {
                self.settle(&stored.payment, &PaymentSettlement::Failed(reason)).await?;
            }
            ProviderEvent::Refund { refund_id, outcome, .. } => {
                let Some(refund) = stored.payment.refunds.iter().find(|r| r.refund_id == refund_id) else {
                    return Ok(());
                };
                if refund.status != RefundStatus::Pending {
                    return Ok(());
                }
                match refund_settlement(outcome) {
                    Ok(settlement) => {
                        self.settle_refund(&stored.payment, refund, &settlement).await?;
                    }
                    Err(provider_id) => {
                        self.payments.note_provider_refund(&stored.payment, refund, &provider_id).await?
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The same stores and queue without the provider: all that settling needs.
    pub fn without_provider(&self) -> Cashier<NoProvider> {
        Cashier {
            orders: self.orders.clone(),
            payments: self.payments.clone(),
            idempotency: self.idempotency.clone(),
            events: self.events.clone(),
            provider: NoProvider,
        }
    }

    /// Settles a `PENDING` payment and delivers its event; returns the payment as it now stands.
    /// When another path settled it first, or the write's own outcome is unknown (a timeout after
    /// DynamoDB may have applied it), the payment is read again: never guessed.
    pub(super) async fn settle(&self, payment: &Payment, settlement: &PaymentSettlement) -> Result<Payment> {
        let now = Timestamp::now();
        match self.payments.settle(payment, settlement, now).await {
            Ok(Some(entry)) => {
                let (name, status) = match settlement {
                    PaymentSettlement::Captured(_) => ("PaymentsCaptured", PaymentStatus::Captured),
                    PaymentSettlement::Failed(_) => ("PaymentsFailed", PaymentStatus::Failed),
                };
                let ids = [("orderId", payment.order_id.to_string()), ("paymentId", payment.payment_id.to_string())];
                metrics::emit(&[Metric::count(name, 1)], None, &ids);
                metrics::emit(&[Metric::minor_units("PaymentAmount", payment.amount)], Some(payment.currency), &ids);
                self.deliver(payment, entry).await;
                let failure_reason = match settlement {
                    PaymentSettlement::Failed(reason) => Some(reason.clone()),
                    PaymentSettlement::Captured(_) => None,
                };
                Ok(Payment { status, failure_reason, updated_at: now, ..payment.clone() })
            }
            Ok(None) => self.current(payment).await,
            Err(err) => {
                tracing::warn!(payment_id = %payment.payment_id, error = ?err, "settling a payment failed; reading it");
                self.current(payment).await
            }
        }
    }

    /// Settles a refund as the provider's `outcome` says; a refund still pending keeps the
    /// provider's id for asking later.
    pub(super) async fn settle_refund_outcome(
        &self,
        payment: &Payment,
        refund: &Refund,
        outcome: Result<RefundOutcome, Unanswered>,
    ) -> Result<Refund> {
        match outcome.map(refund_settlement) {
            Ok(Ok(settlement)) => self.settle_refund(payment, refund, &settlement).await,
            Ok(Err(provider_id)) => {
                if let Err(err) = self.payments.note_provider_refund(payment, refund, &provider_id).await {
                    tracing::warn!(refund_id = %refund.refund_id, error = ?err, "provider refund id not noted");
                }
                Ok(refund.clone())
            }
            Err(unanswered) => {
                tracing::warn!(refund_id = %refund.refund_id, error = %unanswered, "refund left PENDING");
                Ok(refund.clone())
            }
        }
    }

    /// Settles a `PENDING` refund and delivers its event; returns the refund as it now stands.
    async fn settle_refund(&self, payment: &Payment, refund: &Refund, settlement: &RefundSettlement) -> Result<Refund> {
        let now = Timestamp::now();
        match self.payments.settle_refund(payment, refund, settlement, now).await {
            Ok(Some(entry)) => {
                let (name, status, failure_reason) = match settlement {
                    RefundSettlement::Succeeded { .. } => ("RefundsIssued", RefundStatus::Succeeded, None),
                    RefundSettlement::Failed { reason, .. } => {
                        ("RefundsFailed", RefundStatus::Failed, Some(reason.clone()))
                    }
                };
                let ids = [("paymentId", payment.payment_id.to_string()), ("refundId", refund.refund_id.to_string())];
                metrics::emit(&[Metric::count(name, 1)], None, &ids);
                metrics::emit(&[Metric::minor_units("RefundAmount", refund.amount)], Some(payment.currency), &ids);
                self.deliver(payment, entry).await;
                Ok(Refund { status, failure_reason, updated_at: now, ..refund.clone() })
            }
            Ok(None) => self.current_refund(payment, refund).await,
            Err(err) => {
                tracing::warn!(refund_id = %refund.refund_id, error = ?err, "settling a refund failed; reading it");
                self.current_refund(payment, refund).await
            }
        }
    }

    async fn deliver(&self, payment: &Payment, entry: OutboxEntry) {
        outbox::deliver(&self.orders, &self.events, (payment.order_id, &payment.customer_id), &[entry]).await;
    }

    async fn current(&self, payment: &Payment) -> Result<Payment> {
        let stored = self.payments.get(&payment.payment_id).await?;
        stored.map(|s| s.payment).ok_or_else(Error::payment_not_found)
    }

    async fn current_refund(&self, payment: &Payment, refund: &Refund) -> Result<Refund> {
        let stored = self.payments.get_with_refund(&payment.payment_id, Some(&refund.refund_id)).await?;
        stored
            .ok_or_else(Error::payment_not_found)?
            .payment
            .refunds
            .into_iter()
            .find(|r| r.refund_id == refund.refund_id)
            .ok_or_else(|| Error::internal("reading a refund", "it vanished"))
    }
}

/// What a refund's outcome settles it as: `Err(the provider's id)` while the provider has not
/// decided. The one mapping, for the route's answer, the webhook's event and the reconciler's look.
fn refund_settlement(outcome: RefundOutcome) -> std::result::Result<RefundSettlement, String> {
    match outcome {
        RefundOutcome::Succeeded { id } => Ok(RefundSettlement::Succeeded { provider_id: id }),
        RefundOutcome::Failed { id, reason } => Ok(RefundSettlement::Failed { provider_id: id, reason }),
        RefundOutcome::Pending { id } => Err(id),
    }
}
