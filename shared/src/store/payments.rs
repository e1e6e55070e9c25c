use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::transact_write_items::TransactWriteItemsError,
    types::{CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update},
};

use super::{Item, change_clauses, decode_order, expr::Expr, from_item, n, s, to_item};
use crate::domain::{Caller, Order, OrderId, OrderStatus, Payment, PaymentId, Refund};
use crate::error::{Error, Result, ResultExt};
use crate::events::{EventType, MoneyMoved, OutboxEntry};
use crate::keys::{self, PK, SK};

/// How often a transaction that lost a race with another transaction on the same items is tried
/// again before the request gives up (real DynamoDB reports such races as `TransactionConflict`).
const CONFLICT_ATTEMPTS: u32 = 5;

/// A payment as stored: what the API shows, and the processor's reference for refunds.
#[derive(Debug, Clone)]
pub struct StoredPayment {
    pub payment: Payment,
    pub provider_reference: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference {
    provider_reference: String,
}

/// Payments and refunds, written together with their order in one transaction each.
#[derive(Debug, Clone)]
pub struct PaymentStore {
    db: Client,
    table: String,
}

impl PaymentStore {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self { db, table: table.into() }
    }

    /// A payment with its refunds, in the order they were made.
    #[tracing::instrument(skip(self))]
    pub async fn get(&self, id: &PaymentId) -> Result<Option<StoredPayment>> {
        let mut payment: Option<StoredPayment> = None;
        let mut refunds = vec![];
        let mut items = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(keys::payment_partition(id)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items.next().await {
            let item = item.context("reading a payment")?;
            let is_refund =
                item.get(SK).and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with(keys::REFUND_PREFIX));
            if is_refund {
                refunds.push(from_item::<Refund>(item)?);
            } else {
                let Reference { provider_reference } = from_item(item.clone())?;
                payment = Some(StoredPayment { payment: from_item(item)?, provider_reference });
            }
        }
        Ok(payment.map(|mut stored| {
            stored.payment.refunds = refunds;
            stored
        }))
    }

    /// Records a captured payment and raises its order's `paid`, in one transaction that holds
    /// only if the order is still `CONFIRMED`, in the same currency and total, and the amount
    /// still fits: `paid <= total - amount`. Returns the order's new outbox entry.
    #[tracing::instrument(skip_all, fields(payment_id = %payment.payment_id, order_id = %payment.order_id))]
    pub async fn capture(
        &self,
        caller: &Caller,
        seen: &Order,
        payment: &Payment,
        reference: &str,
    ) -> Result<OutboxEntry> {
        let money = MoneyMoved {
            payment_id: payment.payment_id,
            refund_id: None,
            amount: payment.amount,
            currency: payment.currency,
        };
        let entry = OutboxEntry::money(EventType::PaymentCaptured, payment.created_at, money);

        let key = keys::payment(&payment.payment_id);
        let mut item = to_item(payment)?;
        item.remove("refunds");
        item.insert("providerReference".into(), s(reference));
        item.insert(PK.into(), s(key.pk));
        item.insert(SK.into(), s(key.sk));
        for (name, value) in keys::payment_index_keys(payment) {
            item.insert(name.into(), s(value));
        }
        let put = new_item(&self.table, item)?;

        let mut expr = Expr::default();
        let set = change_clauses(&mut expr, &seen.order_id, Some(&entry), payment.created_at)?;
        let update = format!("SET {} ADD {} {}", set.join(", "), expr.name("paid"), expr.value(n(payment.amount)));
        let mut conditions = vec![
            "attribute_exists(pk)".to_owned(),
            expr.eq("status", s(OrderStatus::Confirmed.as_str())),
            expr.eq("currency", s(payment.currency.as_str())),
            expr.eq("total", n(seen.total)),
            format!("{} <= {}", expr.name("paid"), expr.value(n(seen.total - payment.amount))),
        ];
        if !caller.admin {
            conditions.push(expr.eq("customerId", s(caller.customer_id.as_str())));
        }
        let order = order_update(&self.table, &seen.order_id, update, conditions, expr)?;

        match self.transact(vec![put, order]).await? {
            None => Ok(entry),
            Some(reasons) => Err(match failed_item(&reasons, 1) {
                Some(old) => {
                    let order = decode_order(old)?;
                    if !caller.can_access(&order.customer_id) {
                        Error::order_not_found()
                    } else {
                        order
                            .payment_refusal(payment.amount, payment.currency)
                            .unwrap_or_else(|| Error::Conflict("the order changed while paying; retry".into()))
                    }
                }
                None => Error::order_not_found(),
            }),
        }
    }

    /// Records a refund and raises the payment's and the order's `refunded`, in one transaction
    /// that holds only if the payment can still refund that much (`refunded <= amount - refund`)
    /// and the order is paid in full. Returns the order's new outbox entry.
    #[tracing::instrument(skip_all, fields(payment_id = %payment.payment_id, refund_id = %refund.refund_id))]
    pub async fn refund(&self, payment: &Payment, refund: &Refund) -> Result<OutboxEntry> {
        let money = MoneyMoved {
            payment_id: payment.payment_id,
            refund_id: Some(refund.refund_id),
            amount: refund.amount,
            currency: payment.currency,
        };
        let entry = OutboxEntry::money(EventType::RefundIssued, refund.created_at, money);

        let key = keys::refund(refund);
        let mut item = to_item(refund)?;
        item.insert(PK.into(), s(key.pk));
        item.insert(SK.into(), s(key.sk));
        let put = new_item(&self.table, item)?;

        let mut expr = Expr::default();
        let refunded = expr.name("refunded");
        let payment_update = Update::builder()
            .table_name(&self.table)
            .key(PK, s(keys::payment(&payment.payment_id).pk))
            .key(SK, s(keys::payment(&payment.payment_id).sk))
            .update_expression(format!("ADD {refunded} {}", expr.value(n(refund.amount))))
            .condition_expression(format!(
                "attribute_exists(pk) AND {refunded} <= {}",
                expr.value(n(payment.amount - refund.amount))
            ))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .context("building a payment update")?;

        let mut expr = Expr::default();
        let set = change_clauses(&mut expr, &payment.order_id, Some(&entry), refund.created_at)?;
        let update = format!("SET {} ADD {} {}", set.join(", "), expr.name("refunded"), expr.value(n(refund.amount)));
        let conditions = vec![
            "attribute_exists(pk)".to_owned(),
            expr.eq("status", s(OrderStatus::Confirmed.as_str())),
            format!("{} = {}", expr.name("paid"), expr.name("total")),
        ];
        let order = order_update(&self.table, &payment.order_id, update, conditions, expr)?;

        let payment_update = TransactWriteItem::builder().update(payment_update).build();
        match self.transact(vec![put, payment_update, order]).await? {
            None => Ok(entry),
            Some(reasons) if failed_item(&reasons, 1).is_some() => {
                let now: Payment = from_item(failed_item(&reasons, 1).expect("checked"))?;
                Err(Error::Conflict(format!("only {} can still be refunded", now.refundable()).into()))
            }
            Some(_) => Err(Error::Conflict("the order is not paid in full".into())),
        }
    }

    /// Runs a transaction; `Some(reasons)` when a condition refused it. A transaction cancelled
    /// for any other reason (a `TransactionConflict` with a concurrent transaction on the same
    /// items) is retried with a short, growing pause.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Option<Vec<CancellationReason>>> {
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let result = self.db.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let reasons = match result {
                Ok(_) => return Ok(None),
                Err(SdkError::ServiceError(e)) => match e.into_err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        c.cancellation_reasons.unwrap_or_default()
                    }
                    other => return Err(Error::internal("writing a transaction", other)),
                },
                Err(e) => return Err(Error::internal("writing a transaction", e)),
            };
            if reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed")) {
                return Ok(Some(reasons));
            }
            tracing::debug!(attempt, "transaction lost a race; retrying");
            tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt))).await;
        }
        Err(Error::Conflict("too many concurrent changes to this payment; retry".into()))
    }
}

/// A `Put` of a new item, refused if the key exists.
fn new_item(table: &str, item: Item) -> Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .context("building a put")?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An `Update` of an order item that returns the old item when its condition fails.
fn order_update(
    table: &str,
    id: &OrderId,
    update: String,
    conditions: Vec<String>,
    expr: Expr,
) -> Result<TransactWriteItem> {
    let key = keys::order(id);
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(key.pk))
        .key(SK, s(key.sk))
        .update_expression(update)
        .condition_expression(conditions.join(" AND "))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .context("building an order update")?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The old item of the transaction's `index`-th write, if that write's condition failed.
fn failed_item(reasons: &[CancellationReason], index: usize) -> Option<Item> {
    let reason = reasons.get(index)?;
    (reason.code() == Some("ConditionalCheckFailed")).then(|| reason.item.clone().unwrap_or_default())
}
