//! Payments and refunds still `PENDING` at the provider, found through the sparse `gsi3` so the
//! reconciler can settle them. The index's sort key starts with when the reconciler should next
//! look at the item: a new one is due after [`GRACE_MILLIS`], and the reconciler moves it later
//! each time it takes the item, so its query returns only what is due.

use super::payments::PaymentStore;
use super::{expr::Expr, s, unfinished};
use crate::domain::{PaymentId, RefundId, Timestamp};
use crate::error::{Result, ResultExt};
use crate::keys::{self, GSI3};

/// How long a new payment or refund stays with the request that made it before the reconciler
/// looks at it: longer than any request (the API functions time out after 10 s).
pub const GRACE_MILLIS: i64 = 30_000;

/// When the reconciler first looks at a payment or refund begun at `created`.
pub fn first_look(created: Timestamp) -> Timestamp {
    Timestamp::from_millis(created.millis() + GRACE_MILLIS)
}

/// A payment, or one of its refunds, left `PENDING`, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub payment_id: PaymentId,
    /// `None` for the payment itself.
    pub refund_id: Option<RefundId>,
    /// Its index sort key when found: taking it is conditioned on it being unchanged.
    due: String,
}

impl PaymentStore {
    /// Every payment and refund `PENDING` whose next look is due before `now`, from every shard.
    #[tracing::instrument(skip(self))]
    pub async fn pending_due(&self, now: Timestamp) -> Result<Vec<Pending>> {
        let mut found = vec![];
        for shard in 0..keys::PENDING_SHARDS {
            let partition = (keys::GSI3, keys::pending_shard(shard));
            for item in unfinished(&self.db, &self.table, partition, now, "finding pending payments").await? {
                let key = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if let Some(payment_id) = keys::payment_id_of(&key(keys::PK)) {
                    let refund_id = keys::refund_id_of(&key(keys::SK));
                    found.push(Pending { payment_id, refund_id, due: key(GSI3.sk) });
                }
            }
        }
        Ok(found)
    }

    /// Takes `pending` for one look by moving its next look to `next`; `false` when it is not
    /// there to take (another run took it first, or it settled since it was found). Taking before
    /// asking is what keeps two runs from asking at once, and a run that dies after taking it only
    /// delays the next look.
    #[tracing::instrument(skip(self))]
    pub async fn take(&self, pending: &Pending, next: Timestamp) -> Result<bool> {
        let (key, id) = match pending.refund_id {
            Some(refund) => (keys::refund(&pending.payment_id, &refund), refund.to_string()),
            None => (keys::payment(&pending.payment_id), pending.payment_id.to_string()),
        };
        let mut expr = Expr::default();
        let sk = expr.name(GSI3.sk);
        let (seen, moved) = (expr.value(s(pending.due.clone())), expr.value(s(keys::pending_due(next, &id))));
        let taken = self
            .db
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.pk))
            .key(keys::SK, s(key.sk))
            .update_expression(format!("SET {sk} = {moved}"))
            .condition_expression(format!("{sk} = {seen}"))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(err) => Err(err).context("taking a pending payment or refund"),
        }
    }
}
