//! Payments: written `PENDING` with a hold on their order, then settled once, each step one
//! transaction with the order. The conditions are the money invariants; nothing is read first.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use serde::Deserialize;

use super::transact::{failed_item, new_item, transact, update};
use super::{Item, change_clauses, decode_order, expr::Expr, from_item, ledger, n, revisions_below, s, to_item};
use crate::domain::{
    Caller, Capture, LedgerEntry, MAX_REVISIONS_TO_PAY, Order, OrderStatus, Payment, PaymentId, PaymentStatus, Refund,
    RefundId, Revision, Timestamp,
};
use crate::error::{Error, Result, ResultExt};
use crate::events::{EventType, MoneyMoved, OutboxEntry};
use crate::keys::{self, GSI3, PK, SK};

/// A payment as stored: what the API shows, and what asking the provider again needs.
#[derive(Debug, Clone)]
pub struct StoredPayment {
    pub payment: Payment,
    /// The card token, to repeat the charge exactly (the provider's idempotency needs the same
    /// parameters). A token is a single-use reference, not card data.
    pub source: String,
    /// Where the money is at the provider, once captured.
    pub capture: Option<Capture>,
    /// The provider's id of each refund it made.
    pub provider_refunds: BTreeMap<RefundId, String>,
    /// The trace of the request that made it, when traces were on: the reconciler settles it in
    /// that trace, and the provider's events about it link to it.
    pub traceparent: Option<String>,
}

impl StoredPayment {
    /// A payment just written in the current span, before the provider knows of it.
    pub fn new(payment: Payment, source: String) -> Self {
        let traceparent = crate::telemetry::traceparent();
        Self { payment, source, capture: None, provider_refunds: BTreeMap::new(), traceparent }
    }
}

/// What the provider said of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentSettlement {
    Captured(Capture),
    Failed(String),
}

/// What writing a new payment found.
#[derive(Debug)]
pub enum Begun<T> {
    /// Written now: go on and ask the provider.
    Started,
    /// Its id was written before (the same idempotent request, run again): here it is as stored.
    Existing(T),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentExtras {
    #[serde(default)]
    source: String,
    provider_intent: Option<String>,
    provider_charge: Option<String>,
    traceparent: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundExtras {
    provider_refund_id: Option<String>,
}

/// Payments and refunds, each change written together with its order in one transaction.
#[derive(Debug, Clone)]
pub struct PaymentStore {
    pub(super) db: Client,
    pub(super) table: String,
}

/// The money event of a payment or refund, for the order's outbox.
pub(super) fn money_entry(kind: EventType, payment: &Payment, refund: Option<&Refund>, now: Timestamp) -> OutboxEntry {
    let money = MoneyMoved {
        payment_id: payment.payment_id,
        refund_id: refund.map(|r| r.refund_id),
        amount: refund.map_or(payment.amount, |r| r.amount),
        currency: payment.currency,
    };
    OutboxEntry::money(kind, now, money)
}

fn decode_payment(item: Item) -> Result<(Payment, PaymentExtras)> {
    Ok((from_item(item.clone())?, from_item(item)?))
}

/// A stored payment from its item and the items of its refunds (all, or those asked for).
fn stored(payment: Item, refund_items: impl IntoIterator<Item = Item>) -> Result<StoredPayment> {
    let (mut payment, extras) = decode_payment(payment)?;
    let mut provider_refunds = BTreeMap::new();
    for item in refund_items {
        let RefundExtras { provider_refund_id } = from_item(item.clone())?;
        let refund: Refund = from_item(item)?;
        if let Some(provider_id) = provider_refund_id {
            provider_refunds.insert(refund.refund_id, provider_id);
        }
        payment.refunds.push(refund);
    }
    payment.refunds.sort_by_key(|r| (r.created_at, r.refund_id));
    let capture = extras.provider_intent.zip(extras.provider_charge).map(|(intent, charge)| Capture { intent, charge });
    Ok(StoredPayment { payment, source: extras.source, capture, provider_refunds, traceparent: extras.traceparent })
}

impl PaymentStore {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self { db, table: table.into() }
    }

    /// A payment with its refunds, oldest first.
    #[tracing::instrument(skip(self))]
    pub async fn get(&self, id: &PaymentId) -> Result<Option<StoredPayment>> {
        let (mut payment, mut refunds) = (None, vec![]);
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
            let sk = item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
            if keys::refund_id_of(sk).is_some() { refunds.push(item) } else { payment = Some(item) }
        }
        payment.map(|payment| stored(payment, refunds)).transpose()
    }

    /// A payment with, of its refunds, only the one `refund` names (if stored): what a refund
    /// request, a webhook or the reconciler needs, in at most two strongly consistent reads at
    /// once, however many refunds the payment has ([`Self::get`] reads them all).
    pub async fn get_with_refund(&self, id: &PaymentId, refund: Option<&RefundId>) -> Result<Option<StoredPayment>> {
        let read = |key| super::read_item(&self.db, &self.table, key, "reading a payment");
        let (payment, refund) = match refund {
            Some(refund) => tokio::try_join!(read(keys::payment(id)), read(keys::refund(id, refund)))?,
            None => (read(keys::payment(id)).await?, None),
        };
        payment.map(|payment| stored(payment, refund)).transpose()
    }

    /// Writes a `PENDING` payment and holds its amount on the order, in one transaction that
    /// holds only if the order is `CONFIRMED`, the caller's (or the caller an admin), in the
    /// payment's currency, still of the total seen, and the amount fits what no other payment has
    /// taken or is taking: `committed <= total - amount`.
    #[tracing::instrument(skip_all, fields(payment_id = %new.payment.payment_id, order_id = %new.payment.order_id))]
    pub async fn begin(&self, caller: &Caller, seen: &Order, new: &StoredPayment) -> Result<Begun<StoredPayment>> {
        let payment = &new.payment;
        let mut item = to_item(payment)?;
        item.remove("refunds");
        item.insert("source".into(), s(&new.source));
        item.insert("refundCount".into(), n(0));
        if let Some(traceparent) = &new.traceparent {
            item.insert(crate::telemetry::TRACEPARENT.into(), s(traceparent));
        }
        for (name, value) in keys::payment_index_keys(payment).into_iter().chain(keys::pending_keys(
            payment.payment_id.shard(keys::PENDING_SHARDS),
            super::first_look(payment.created_at),
            &payment.payment_id,
        )) {
            item.insert(name.into(), s(value));
        }
        let put = new_item(&self.table, keys::payment(&payment.payment_id), item)?;

        let mut expr = Expr::default();
        let committed = expr.name("committed");
        let hold = format!("ADD {committed} {}", expr.value(n(payment.amount)));
        let mut conditions = vec![
            "attribute_exists(pk)".to_owned(),
            expr.eq("status", s(OrderStatus::Confirmed.as_str())),
            expr.eq("currency", s(payment.currency.as_str())),
            expr.eq("total", n(seen.total)),
            format!("{committed} <= {}", expr.value(n(seen.total - payment.amount))),
            revisions_below(&mut expr, MAX_REVISIONS_TO_PAY),
        ];
        if !caller.admin {
            conditions.push(expr.eq("customerId", s(caller.customer_id.as_str())));
        }
        let order = update(&self.table, keys::order(&seen.order_id), hold, &conditions, expr)?;

        let begun = LedgerEntry::capture(payment, PaymentStatus::Pending, None, payment.created_at);
        let ledger = ledger::put(&self.table, &begun)?;

        let Some(reasons) = transact(&self.db, vec![put, order, ledger]).await? else {
            return Ok(Begun::Started);
        };
        if let Some(existing) = failed_item(&reasons, 0) {
            let (existing, _) = decode_payment(existing)?;
            return match self.get(&existing.payment_id).await? {
                Some(stored) => Ok(Begun::Existing(stored)),
                None => Err(Error::internal("reading an existing payment", "it vanished")),
            };
        }
        Err(match failed_item(&reasons, 1) {
            Some(old) if !old.is_empty() => {
                let order = decode_order(old)?;
                if !caller.can_access(&order.customer_id) {
                    Error::order_not_found()
                } else {
                    order.payment_refusal(payment.amount, payment.currency).unwrap_or(Error::ConcurrentChange)
                }
            }
            _ => Error::order_not_found(),
        })
    }

    /// Settles a `PENDING` payment: `CAPTURED` raises the order's `paid`; `FAILED` releases its
    /// hold. One transaction with the order and its event, applied only while the payment is
    /// `PENDING`: `Ok(None)` when someone settled it first (the handler, the webhook and the
    /// reconciler may all try; exactly one wins).
    #[tracing::instrument(skip_all, fields(payment_id = %payment.payment_id))]
    pub async fn settle(
        &self,
        payment: &Payment,
        settlement: &PaymentSettlement,
        now: Timestamp,
    ) -> Result<Option<OutboxEntry>> {
        let mut expr = Expr::default();
        let (gsi3pk, gsi3sk) = (expr.name(GSI3.pk), expr.name(GSI3.sk));
        let mut sets = vec![expr.eq("updatedAt", s(now.to_string()))];
        let (kind, order_change, revision, step) = match settlement {
            PaymentSettlement::Captured(capture) => {
                sets.push(expr.eq("status", s(PaymentStatus::Captured.as_str())));
                sets.push(expr.eq("providerIntent", s(&capture.intent)));
                sets.push(expr.eq("providerCharge", s(&capture.charge)));
                let step = LedgerEntry::capture(payment, PaymentStatus::Captured, None, now);
                (EventType::PaymentCaptured, ("paid", payment.amount), Revision::money(payment.amount, 0, now), step)
            }
            PaymentSettlement::Failed(reason) => {
                let reason: String = reason.chars().take(500).collect();
                sets.push(expr.eq("status", s(PaymentStatus::Failed.as_str())));
                sets.push(expr.eq("failureReason", s(&reason)));
                let step = LedgerEntry::capture(payment, PaymentStatus::Failed, Some(&reason), now);
                (EventType::PaymentFailed, ("committed", -payment.amount), Revision::at(now), step)
            }
        };
        let still_pending = [expr.eq("status", s(PaymentStatus::Pending.as_str()))];
        // The card token was kept only to ask the provider again; a settled payment never is.
        let source = expr.name("source");
        let write = format!("SET {} REMOVE {gsi3pk}, {gsi3sk}, {source}", sets.join(", "));
        let payment_update = update(&self.table, keys::payment(&payment.payment_id), write, &still_pending, expr)?;

        let entry = money_entry(kind, payment, None, now);
        let order_update = self.order_money(payment, &[order_change], &entry, &revision)?;
        let ledger = ledger::put(&self.table, &step)?;
        match transact(&self.db, vec![payment_update, order_update, ledger]).await? {
            None => Ok(Some(entry)),
            Some(reasons) if failed_item(&reasons, 0).is_some() => Ok(None),
            Some(_) => Err(Error::internal("settling a payment", "its order is gone")),
        }
    }

    /// The order's side of a money change: `ADD` each amount, bump the version, append the
    /// revision and the event.
    pub(super) fn order_money(
        &self,
        payment: &Payment,
        amounts: &[(&str, i64)],
        entry: &OutboxEntry,
        revision: &Revision,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem> {
        let mut expr = Expr::default();
        let set = change_clauses(&mut expr, &payment.order_id, Some(entry), revision)?;
        let adds: Vec<String> =
            amounts.iter().map(|(name, amount)| format!("{} {}", expr.name(name), expr.value(n(amount)))).collect();
        let write = format!("SET {} ADD {}", set.join(", "), adds.join(", "));
        update(&self.table, keys::order(&payment.order_id), write, &["attribute_exists(pk)".to_owned()], expr)
    }
}
