//! Refunds: written `PENDING` holding their amount on the payment and the order, then settled
//! once. Each step is one transaction; the payment's condition is what keeps refunds within it.

use super::payments::{Begun, PaymentStore, money_entry};
use super::transact::{failed_item, new_item, transact, update};
use super::{applied, decode_order, expr::Expr, from_item, ledger, n, revisions_below, s, to_item};
use crate::domain::{
    LedgerEntry, MAX_REVISIONS_TO_PAY, Payment, PaymentStatus, Refund, RefundStatus, Revision, Timestamp,
};
use crate::error::{Error, Result};
use crate::events::{EventType, OutboxEntry};
use crate::keys::{self, GSI3};

/// The most refunds one payment takes, so that a payment and its refunds always fit one response
/// (`GET /payments/{id}`). The 101st is refused by the write's condition.
pub const MAX_REFUNDS_PER_PAYMENT: i64 = 100;

/// What the provider said of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSettlement {
    Succeeded { provider_id: String },
    Failed { provider_id: Option<String>, reason: String },
}

impl PaymentStore {
    /// Writes a `PENDING` refund and holds its amount on its payment and order, in one transaction
    /// that holds only if the payment is `CAPTURED`, can still give that much back
    /// (`refunded <= amount - refund`) and has fewer than [`MAX_REFUNDS_PER_PAYMENT`] refunds.
    #[tracing::instrument(skip_all, fields(payment_id = %payment.payment_id, refund_id = %refund.refund_id))]
    pub async fn begin_refund(&self, payment: &Payment, refund: &Refund) -> Result<Begun<Refund>> {
        let mut item = to_item(refund)?;
        let shard = refund.refund_id.shard(keys::PENDING_SHARDS);
        for (name, value) in keys::pending_keys(shard, super::first_look(refund.created_at), &refund.refund_id) {
            item.insert(name.into(), s(value));
        }
        let put = new_item(&self.table, keys::refund(&payment.payment_id, &refund.refund_id), item)?;

        let mut expr = Expr::default();
        let (refunded, count) = (expr.name("refunded"), expr.name("refundCount"));
        let hold = format!("ADD {refunded} {}, {count} {}", expr.value(n(refund.amount)), expr.value(n(1)));
        let conditions = [
            expr.eq("status", s(PaymentStatus::Captured.as_str())),
            format!("{refunded} <= {}", expr.value(n(payment.amount - refund.amount))),
            format!("{count} < {}", expr.value(n(MAX_REFUNDS_PER_PAYMENT))),
        ];
        let payment_hold = update(&self.table, keys::payment(&payment.payment_id), hold, &conditions, expr)?;

        let mut expr = Expr::default();
        let revision = Revision::money(0, refund.amount, refund.created_at);
        let set = super::change_clauses(&mut expr, &payment.order_id, None, &revision)?;
        let write = format!("SET {} ADD {} {}", set.join(", "), expr.name("refunded"), expr.value(n(refund.amount)));
        let conditions = ["attribute_exists(pk)".to_owned(), revisions_below(&mut expr, MAX_REVISIONS_TO_PAY)];
        let order_hold = update(&self.table, keys::order(&payment.order_id), write, &conditions, expr)?;
        let begun = LedgerEntry::refund(payment, refund, RefundStatus::Pending, None, refund.created_at);
        let ledger = ledger::put(&self.table, &begun)?;

        let Some(reasons) = transact(&self.db, vec![put, payment_hold, order_hold, ledger]).await? else {
            return Ok(Begun::Started);
        };
        if let Some(existing) = failed_item(&reasons, 0) {
            return Ok(Begun::Existing(from_item(existing)?));
        }
        match failed_item(&reasons, 1) {
            Some(now) if !now.is_empty() => {
                let count = now.get("refundCount").and_then(|v| v.as_n().ok()).and_then(|c| c.parse::<i64>().ok());
                if count.is_some_and(|c| c >= MAX_REFUNDS_PER_PAYMENT) {
                    return Err(Error::Conflict(
                        format!("a payment takes at most {MAX_REFUNDS_PER_PAYMENT} refunds").into(),
                    ));
                }
                let now: Payment = from_item(now)?;
                Err(Error::Conflict(format!("only {} can still be refunded", now.refundable()).into()))
            }
            _ => match failed_item(&reasons, 2) {
                Some(order) if !order.is_empty() => {
                    Err(decode_order(order)?.revisions_refusal(MAX_REVISIONS_TO_PAY).unwrap_or(Error::ConcurrentChange))
                }
                _ => Err(Error::payment_not_found()),
            },
        }
    }

    /// Notes the provider's id of a refund it accepted, so its status can be asked for later.
    #[tracing::instrument(skip(self, payment, refund))]
    pub async fn note_provider_refund(&self, payment: &Payment, refund: &Refund, provider_id: &str) -> Result<()> {
        let key = keys::refund(&payment.payment_id, &refund.refund_id);
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.pk))
            .key(keys::SK, s(key.sk))
            .update_expression("SET #id = :id")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#id", "providerRefundId")
            .expression_attribute_values(":id", s(provider_id))
            .send()
            .await;
        applied(result, "noting a provider refund id").map(|_| ())
    }

    /// Settles a `PENDING` refund: `SUCCEEDED` counts it as returned on the order; `FAILED` gives
    /// its amount back to the payment and the order. Applied only while the refund is `PENDING`:
    /// `Ok(None)` when someone settled it first.
    #[tracing::instrument(skip_all, fields(refund_id = %refund.refund_id))]
    pub async fn settle_refund(
        &self,
        payment: &Payment,
        refund: &Refund,
        settlement: &RefundSettlement,
        now: Timestamp,
    ) -> Result<Option<OutboxEntry>> {
        let mut expr = Expr::default();
        let (gsi3pk, gsi3sk) = (expr.name(GSI3.pk), expr.name(GSI3.sk));
        let mut sets = vec![expr.eq("updatedAt", s(now.to_string()))];
        let (provider_id, step) = match settlement {
            RefundSettlement::Succeeded { provider_id } => {
                sets.push(expr.eq("status", s(RefundStatus::Succeeded.as_str())));
                (Some(provider_id), LedgerEntry::refund(payment, refund, RefundStatus::Succeeded, None, now))
            }
            RefundSettlement::Failed { provider_id, reason } => {
                let reason: String = reason.chars().take(500).collect();
                sets.push(expr.eq("status", s(RefundStatus::Failed.as_str())));
                sets.push(expr.eq("failureReason", s(&reason)));
                let step = LedgerEntry::refund(payment, refund, RefundStatus::Failed, Some(&reason), now);
                (provider_id.as_ref(), step)
            }
        };
        if let Some(id) = provider_id {
            sets.push(expr.eq("providerRefundId", s(id)));
        }
        let still_pending = [expr.eq("status", s(RefundStatus::Pending.as_str()))];
        let write = format!("SET {} REMOVE {gsi3pk}, {gsi3sk}", sets.join(", "));
        let key = keys::refund(&payment.payment_id, &refund.refund_id);
        let mut writes = vec![update(&self.table, key, write, &still_pending, expr)?];

        let entry = match settlement {
            RefundSettlement::Succeeded { .. } => {
                let entry = money_entry(EventType::RefundIssued, payment, Some(refund), now);
                writes.push(self.order_money(payment, &[("returned", refund.amount)], &entry, &Revision::at(now))?);
                entry
            }
            RefundSettlement::Failed { .. } => {
                let mut expr = Expr::default();
                let write = format!("ADD {} {}", expr.name("refunded"), expr.value(n(-refund.amount)));
                let exists = ["attribute_exists(pk)".to_owned()];
                writes.push(update(&self.table, keys::payment(&payment.payment_id), write, &exists, expr)?);
                let entry = money_entry(EventType::RefundFailed, payment, Some(refund), now);
                let revision = Revision::money(0, -refund.amount, now);
                writes.push(self.order_money(payment, &[("refunded", -refund.amount)], &entry, &revision)?);
                entry
            }
        };
        writes.push(ledger::put(&self.table, &step)?);
        match transact(&self.db, writes).await? {
            None => Ok(Some(entry)),
            Some(reasons) if failed_item(&reasons, 0).is_some() => Ok(None),
            Some(_) => Err(Error::internal("settling a refund", "its payment or order is gone")),
        }
    }
}
