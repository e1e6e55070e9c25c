//! The DynamoDB repository. Every invariant is a condition on the write that needs it; no
//! method reads an item to decide whether to write it.

mod expr;
mod idempotency;
mod ledger;
mod orders;
mod orders_by_time;
mod outbox;
mod payments;
mod pending_money;
mod refunds;
mod transact;

pub use idempotency::{Claim, IdempotencyStore, StoredResponse};
pub use orders::{Decision, OrderPage, OrderStore, PageRequest, Written};
pub use payments::{Begun, PaymentSettlement, PaymentStore, StoredPayment};
pub use pending_money::{GRACE_MILLIS, Pending, first_look};
pub use refunds::{MAX_REFUNDS_PER_PAYMENT, RefundSettlement};

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Serialize, de::DeserializeOwned};
use serde_dynamo::aws_sdk_dynamodb_1 as dynamo;

use crate::domain::{Order, OrderId, Revision, Timestamp};
use crate::error::{Error, Result, ResultExt};
use crate::events::OutboxEntry;
use crate::keys;
use expr::Expr;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn to_item(value: &impl Serialize) -> Result<Item> {
    dynamo::to_item(value).context("encoding an item")
}

pub(crate) fn to_value(value: &impl Serialize) -> Result<AttributeValue> {
    dynamo::to_attribute_value(value).context("encoding an attribute")
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    dynamo::from_item(item).context("decoding an item")
}

/// Whether a conditional write was applied: `Ok(false)` when its condition refused it, which is
/// an answer and not a failure.
pub(crate) fn applied<T, E>(result: std::result::Result<T, SdkError<E>>, context: &'static str) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(Error::internal(context, e)),
    }
}

/// The item at `key`, read strongly consistently (what follows acts on it, so it must see every
/// write acknowledged before).
pub(crate) async fn read_item(db: &Client, table: &str, key: keys::Key, context: &'static str) -> Result<Option<Item>> {
    let output = db
        .get_item()
        .table_name(table)
        .key(keys::PK, s(key.pk))
        .key(keys::SK, s(key.sk))
        .consistent_read(true)
        .send()
        .await
        .context(context)?;
    Ok(output.item)
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The items of one partition of a sparse index of unfinished work (`gsi3`: an outbox, a pending
/// payment; `gsi4`: an order awaiting its decision) whose sort key, which starts with the time the
/// work began, is before `before`, oldest first. Keys only.
pub(crate) async fn unfinished(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    (index, partition): (keys::Index, String),
    before: Timestamp,
    context: &'static str,
) -> Result<Vec<Item>> {
    let mut expr = Expr::default();
    let condition = format!(
        "{} AND {} < {}",
        expr.eq(index.pk, s(partition)),
        expr.name(index.sk),
        expr.value(s(before.to_string()))
    );
    let mut pages = db
        .query()
        .table_name(table)
        .index_name(index.name)
        .key_condition_expression(condition)
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .into_paginator()
        .items()
        .send();
    let mut items = vec![];
    while let Some(item) = pages.next().await {
        items.push(item.context(context)?);
    }
    Ok(items)
}

/// An order item decoded, with the status its amounts imply.
pub(crate) fn decode_order(item: Item) -> Result<Order> {
    from_item::<Order>(item).map(Order::settled)
}

/// The `SET` clauses every change of an order makes besides its own: the version bump, the
/// `updatedAt` stamp, the change's revision appended to the history, and the change's event, if it
/// has one, appended to the outbox (indexed in `gsi3`).
pub(crate) fn change_clauses(
    expr: &mut Expr,
    id: &OrderId,
    entry: Option<&OutboxEntry>,
    revision: &Revision,
) -> Result<Vec<String>> {
    let now = revision.at;
    let (version, history) = (expr.name("version"), expr.name("history"));
    let empty = expr.value(AttributeValue::L(vec![]));
    let mut clauses = vec![
        format!("{version} = {version} + {}", expr.value(n(1))),
        expr.eq("updatedAt", s(now.to_string())),
        format!("{history} = list_append(if_not_exists({history}, {empty}), {})", expr.value(to_value(&[revision])?)),
    ];
    let Some(entry) = entry else { return Ok(clauses) };
    let outbox = expr.name("outbox");
    clauses
        .push(format!("{outbox} = list_append(if_not_exists({outbox}, {empty}), {})", expr.value(to_value(&[entry])?)));
    for (name, value) in keys::outbox_keys(id, now) {
        let placeholder = expr.name(name);
        clauses.push(format!("{placeholder} = if_not_exists({placeholder}, {})", expr.value(s(value))));
    }
    Ok(clauses)
}

/// The condition that an order has fewer than `max` revisions (an order written before histories
/// were kept has none).
pub(crate) fn revisions_below(expr: &mut Expr, max: usize) -> String {
    let history = expr.name("history");
    format!("(attribute_not_exists({history}) OR size({history}) < {})", expr.value(n(max)))
}
