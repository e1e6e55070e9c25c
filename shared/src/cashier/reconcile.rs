//! Reconciling: settling what stayed `PENDING` (its answer lost, its webhook missing) by asking
//! the provider again, each item on its own, until it has been tried too often for a machine.

use super::{Cashier, Charged};
use crate::domain::{PaymentStatus, RefundStatus, Timestamp};
use crate::error::Result;
use crate::metrics::{self, Metric};
use crate::payment_provider::PaymentProvider;
use crate::store::Pending;

/// How many times the reconciler asks about one pending payment or refund before it stops and
/// leaves it to a person (the `PendingMoneyStuck` metric and its alarm).
pub const MAX_RECONCILE_ATTEMPTS: u32 = 10;

/// What one reconciliation run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    pub settled: usize,
    pub still_pending: usize,
    pub given_up: usize,
    pub failed: usize,
}

impl<P: PaymentProvider> Cashier<P> {
    /// Settles every payment and refund `PENDING` since before `before` by asking the provider,
    /// each on its own (one that fails does not stop the others).
    pub async fn reconcile(&self, before: Timestamp) -> Result<Reconciled> {
        let mut run = Reconciled::default();
        for pending in self.payments.pending_since(before).await? {
            match self.reconcile_one(&pending).await {
                Ok(Some(true)) => run.settled += 1,
                Ok(Some(false)) => run.still_pending += 1,
                Ok(None) => run.given_up += 1,
                Err(err) => {
                    run.failed += 1;
                    tracing::error!(?pending, error = ?err, "reconciling failed; it is tried again on the next run");
                }
            }
        }
        let stuck = Metric::count("PendingMoneyStuck", run.given_up as i64);
        metrics::emit(&[Metric::count("PendingMoneySettled", run.settled as i64), stuck], None, &[]);
        Ok(run)
    }

    /// `Some(settled)`, or `None` once it has been tried too often.
    async fn reconcile_one(&self, pending: &Pending) -> Result<Option<bool>> {
        if self.payments.count_attempt(pending).await? > MAX_RECONCILE_ATTEMPTS {
            tracing::error!(?pending, "still PENDING after every reconciliation attempt; needs a person");
            return Ok(None);
        }
        let stored = self.payments.get_with_refund(&pending.payment_id, pending.refund_id.as_ref()).await?;
        let Some(stored) = stored else { return Ok(Some(false)) };
        let settled = match pending.refund_id {
            None => match self.charge(&stored).await? {
                Charged::Payment(payment) => payment.status != PaymentStatus::Pending,
                Charged::Refused(_) => true,
            },
            Some(refund_id) => {
                let Some(refund) = stored.payment.refunds.iter().find(|r| r.refund_id == refund_id) else {
                    return Ok(Some(false));
                };
                let refund = match stored.provider_refunds.get(&refund_id) {
                    Some(id) => {
                        let outcome = self.provider.refund_status(id).await;
                        self.settle_refund_outcome(&stored.payment, refund, outcome).await?
                    }
                    None => self.ask_refund(&stored, refund).await?,
                };
                refund.status != RefundStatus::Pending
            }
        };
        Ok(Some(settled))
    }
}
