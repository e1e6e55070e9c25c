//! Reconciling: settling what stayed `PENDING` (its answer lost, its webhook missing) by looking it
//! up at the provider, and asking again only while the provider still keeps its key. Each item on
//! its own, on a schedule of its own that stretches as it ages, for as long as it takes.

use tracing::Instrument;

use super::{Ask, Cashier, Charged};
use crate::domain::{PaymentStatus, Refund, RefundStatus, Timestamp};
use crate::error::Result;
use crate::metrics::{self, Metric};
use crate::payment_provider::PaymentProvider;
use crate::store::{Pending, StoredPayment};

/// A movement still unknown this long after it began needs a person: the `PendingMoneyStuck`
/// metric (and its alarm) counts it on every look from then on. The reconciler keeps looking.
pub const STUCK_AFTER_MILLIS: i64 = 24 * 3600 * 1000;

/// What one reconciliation run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    pub settled: usize,
    pub still_pending: usize,
    /// Still pending a day after it began (also counted in `still_pending`).
    pub stuck: usize,
    /// Errors of our own (the item is looked at again at its next look).
    pub failed: usize,
}

/// When to look again at a movement begun at `began`, still unknown at `now`: after a twelfth of
/// its age, from a minute to an hour. After an outage of up to an hour it settles within five
/// minutes of the provider's return, after a longer one within the hour, and a movement unknown
/// for a day costs about 80 looks, not 1,440.
pub fn next_look(began: Timestamp, now: Timestamp) -> Timestamp {
    let wait = ((now.millis() - began.millis()) / 12).clamp(60_000, 3_600_000);
    Timestamp::from_millis(now.millis() + wait)
}

/// How one look at a pending movement ended.
enum Look {
    Settled,
    StillPending {
        stuck: bool,
    },
    /// Not ours to look at: another run took it first, or it settled since the index was read.
    NotDue,
}

impl<P: PaymentProvider> Cashier<P> {
    /// Settles every payment and refund whose next look is due at `now`, each on its own (one that
    /// fails does not stop the others).
    pub async fn reconcile(&self, now: Timestamp) -> Result<Reconciled> {
        let mut run = Reconciled::default();
        for pending in self.payments.pending_due(now).await? {
            match self.reconcile_one(&pending, now).await {
                Ok(Look::Settled) => run.settled += 1,
                Ok(Look::StillPending { stuck }) => {
                    run.still_pending += 1;
                    run.stuck += usize::from(stuck);
                    if stuck {
                        tracing::error!(?pending, "still PENDING a day after it began; needs a person");
                    }
                }
                Ok(Look::NotDue) => {}
                Err(err) => {
                    run.failed += 1;
                    tracing::error!(?pending, error = ?err, "reconciling failed; it is looked at again later");
                }
            }
        }
        let stuck = Metric::count("PendingMoneyStuck", run.stuck as i64);
        metrics::emit(&[Metric::count("PendingMoneySettled", run.settled as i64), stuck], None, &[]);
        Ok(run)
    }

    async fn reconcile_one(&self, pending: &Pending, now: Timestamp) -> Result<Look> {
        let stored = self.payments.get_with_refund(&pending.payment_id, pending.refund_id.as_ref()).await?;
        let Some(stored) = stored else { return Ok(Look::NotDue) };
        let refund = match pending.refund_id {
            None if stored.payment.status == PaymentStatus::Pending => None,
            Some(id) => match stored.payment.refunds.iter().find(|r| r.refund_id == id) {
                Some(refund) if refund.status == RefundStatus::Pending => Some(refund.clone()),
                _ => return Ok(Look::NotDue),
            },
            None => return Ok(Look::NotDue),
        };
        // A payment is settled in its request's trace; a refund's look links to it.
        let span = tracing::info_span!(
            "reconcile",
            payment_id = %stored.payment.payment_id,
            refund_id = refund.as_ref().map(|r| r.refund_id.to_string()),
            order_id = %stored.payment.order_id,
            trace_id = tracing::field::Empty,
        );
        let payments_trace = stored.traceparent.as_deref();
        let (parent, link) = if refund.is_none() { (payments_trace, None) } else { (None, payments_trace) };
        crate::telemetry::continues(&span, parent);
        crate::telemetry::links_to(&span, link);
        Box::pin(self.look(pending, &stored, refund, now)).instrument(span).await
    }

    /// Looks `stored` (or its `refund`) up at the provider and settles what it learns.
    async fn look(
        &self,
        pending: &Pending,
        stored: &StoredPayment,
        refund: Option<Refund>,
        now: Timestamp,
    ) -> Result<Look> {
        let began = refund.as_ref().map_or(stored.payment.created_at, |r| r.created_at);
        if !self.payments.take(pending, next_look(began, now)).await? {
            return Ok(Look::NotDue);
        }
        let ask = Ask::Again { now };
        let settled = match refund {
            None => match self.charge(stored, ask).await? {
                Charged::Payment(payment) => payment.status != PaymentStatus::Pending,
                Charged::Refused(_) => true,
            },
            Some(refund) => self.ask_refund(stored, &refund, ask).await?.status != RefundStatus::Pending,
        };
        Ok(if settled {
            Look::Settled
        } else {
            Look::StillPending { stuck: now.millis() - began.millis() >= STUCK_AFTER_MILLIS }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_stretch_with_age_from_a_minute_to_an_hour() {
        let began = Timestamp::from_millis(1_000_000_000_000);
        let after =
            |ms: i64| next_look(began, Timestamp::from_millis(began.millis() + ms)).millis() - began.millis() - ms;
        assert_eq!(after(30_000), 60_000);
        assert_eq!(after(3_600_000), 300_000, "an hour old: every five minutes");
        assert_eq!(after(24 * 3_600_000), 3_600_000, "a day old: hourly");
    }
}
