//! Payments and refunds still `PENDING` at the provider, found through the sparse `gsi3` so the
//! reconciler can settle them.

use aws_sdk_dynamodb::types::ReturnValue;

use super::payments::PaymentStore;
use super::{expr::Expr, n, s, unfinished};
use crate::domain::{PaymentId, RefundId, Timestamp};
use crate::error::{Result, ResultExt};
use crate::keys;

/// A payment, or one of its refunds, left `PENDING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub payment_id: PaymentId,
    /// `None` for the payment itself.
    pub refund_id: Option<RefundId>,
}

impl PaymentStore {
    /// Every payment and refund `PENDING` since before `before`, from every shard of the index.
    #[tracing::instrument(skip(self))]
    pub async fn pending_since(&self, before: Timestamp) -> Result<Vec<Pending>> {
        let mut found = vec![];
        for shard in 0..keys::PENDING_SHARDS {
            let partition = (keys::GSI3, keys::pending_shard(shard));
            for item in unfinished(&self.db, &self.table, partition, before, "finding pending payments").await? {
                let key = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if let Some(payment_id) = keys::payment_id_of(&key(keys::PK)) {
                    found.push(Pending { payment_id, refund_id: keys::refund_id_of(&key(keys::SK)) });
                }
            }
        }
        Ok(found)
    }

    /// Counts one more attempt to settle `pending`; returns how many there have been.
    #[tracing::instrument(skip(self))]
    pub async fn count_attempt(&self, pending: &Pending) -> Result<u32> {
        let key = match pending.refund_id {
            Some(refund) => keys::refund(&pending.payment_id, &refund),
            None => keys::payment(&pending.payment_id),
        };
        let mut expr = Expr::default();
        let attempts = expr.name("reconcileAttempts");
        let output = self
            .db
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.pk))
            .key(keys::SK, s(key.sk))
            .update_expression(format!("ADD {attempts} {}", expr.value(n(1))))
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .context("counting a reconciliation attempt")?;
        let count = output.attributes.and_then(|a| a.get("reconcileAttempts").and_then(|v| v.as_n().ok().cloned()));
        Ok(count.and_then(|c| c.parse().ok()).unwrap_or(1))
    }
}
