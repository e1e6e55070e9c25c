//! `TransactWriteItems` with the pieces every money write uses: a new item, a conditional update,
//! and what a refused condition found.

use aws_sdk_dynamodb::{
    error::SdkError,
    operation::transact_write_items::TransactWriteItemsError,
    types::{CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update},
};

use super::{Item, expr::Expr, s};
use crate::error::{Error, Result, ResultExt};
use crate::keys::{Key, PK, SK};

/// How often a transaction that lost a race with another transaction on the same items is tried
/// again before the request gives up (real DynamoDB reports such races as `TransactionConflict`).
const CONFLICT_ATTEMPTS: u32 = 5;

/// Runs a transaction; `Some(reasons)` when a condition refused it. A transaction cancelled for
/// any other reason (a `TransactionConflict` with a concurrent one on the same items) is retried
/// with a short, growing pause, then is a [`Error::ConcurrentChange`] the client may retry.
pub(crate) async fn transact(
    db: &aws_sdk_dynamodb::Client,
    items: Vec<TransactWriteItem>,
) -> Result<Option<Vec<CancellationReason>>> {
    for attempt in 1..=CONFLICT_ATTEMPTS {
        let result = db.transact_write_items().set_transact_items(Some(items.clone())).send().await;
        let reasons = match result {
            Ok(_) => return Ok(None),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons.unwrap_or_default(),
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
    Err(Error::ConcurrentChange)
}

/// A `Put` of a new item, refused (returning the existing item) if the key exists.
pub(crate) fn new_item(table: &str, key: Key, mut item: Item) -> Result<TransactWriteItem> {
    item.insert(PK.into(), s(key.pk));
    item.insert(SK.into(), s(key.sk));
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .context("building a put")?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An `Update` of the item at `key` under `conditions` (joined with AND), returning the old item
/// when they fail.
pub(crate) fn update(
    table: &str,
    key: Key,
    update: String,
    conditions: &[String],
    expr: Expr,
) -> Result<TransactWriteItem> {
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
        .context("building an update")?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The old item of the transaction's `index`-th write, if that write's condition failed.
pub(crate) fn failed_item(reasons: &[CancellationReason], index: usize) -> Option<Item> {
    let reason = reasons.get(index)?;
    (reason.code() == Some("ConditionalCheckFailed")).then(|| reason.item.clone().unwrap_or_default())
}
