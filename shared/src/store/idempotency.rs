//! Idempotency records: the first request under a key claims it, later ones replay its response.

use aws_sdk_dynamodb::{
    Client, error::SdkError, operation::put_item::PutItemError, types::ReturnValuesOnConditionCheckFailure,
};
use serde::{Deserialize, Serialize};

use super::{Item, applied, expr::Expr, from_item, n, s, to_item};
use crate::domain::{CustomerId, Timestamp};
use crate::error::{Error, Result, ResultExt};
use crate::keys::{self, PK, SK, TTL_ATTRIBUTE};

/// How long a key remembers its response.
pub const RETENTION_SECONDS: i64 = 24 * 3600;
/// How long a claim blocks duplicates while its request runs; longer than any function's timeout,
/// after which a request that died mid-way no longer blocks retries.
pub const LOCK_MILLIS: i64 = 60_000;

/// The response stored for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the request, then complete or release it.
    Claimed,
    /// The same request already completed: here is its response.
    Replay(StoredResponse),
    /// The same request is running right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    request_hash: String,
    response: Option<StoredResponse>,
}

#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    db: Client,
    table: String,
}

impl IdempotencyStore {
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self { db, table: table.into() }
    }

    /// Claims `key` for a request whose content hashes to `request_hash`.
    #[tracing::instrument(skip_all)]
    pub async fn claim(&self, customer: &CustomerId, key: &str, request_hash: &str, now: Timestamp) -> Result<Claim> {
        let record = keys::idempotency(customer, key);
        let mut item: Item = to_item(&serde_json::json!({
            "requestHash": request_hash,
            "lockedUntil": now.millis() + LOCK_MILLIS,
            TTL_ATTRIBUTE: now.millis() / 1000 + RETENTION_SECONDS,
        }))?;
        item.insert(PK.into(), s(record.pk));
        item.insert(SK.into(), s(record.sk));

        // Free when new, expired (TTL deletes lazily), or abandoned by a request that died.
        let mut expr = Expr::default();
        let condition = format!(
            "attribute_not_exists(pk) OR {expires} < {now_s} OR (attribute_not_exists({response}) AND {locked} < {now_ms} AND {hash})",
            expires = expr.name(TTL_ATTRIBUTE),
            now_s = expr.value(n(now.millis() / 1000)),
            response = expr.name("response"),
            locked = expr.name("lockedUntil"),
            now_ms = expr.value(n(now.millis())),
            hash = expr.eq("requestHash", s(request_hash)),
        );
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let old: Record = from_item(failed.item.unwrap_or_default())?;
                    Ok(match old.response {
                        _ if old.request_hash != request_hash => Claim::Mismatch,
                        Some(response) => Claim::Replay(response),
                        None => Claim::InFlight,
                    })
                }
                other => Err(Error::internal("claiming an idempotency key", other)),
            },
            Err(e) => Err(Error::internal("claiming an idempotency key", e)),
        }
    }

    /// Stores the response of a claimed request for replay.
    #[tracing::instrument(skip_all)]
    pub async fn complete(
        &self,
        customer: &CustomerId,
        key: &str,
        request_hash: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        let record = keys::idempotency(customer, key);
        let mut expr = Expr::default();
        let update = format!("SET {}", expr.eq("response", super::to_value(response)?));
        let condition = expr.eq("requestHash", s(request_hash));
        self.db
            .update_item()
            .table_name(&self.table)
            .key(PK, s(record.pk))
            .key(SK, s(record.sk))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .context("storing an idempotent response")?;
        Ok(())
    }

    /// Gives a claimed key up after a failure of ours, so that the client's retry runs again.
    #[tracing::instrument(skip_all)]
    pub async fn release(&self, customer: &CustomerId, key: &str, request_hash: &str) -> Result<()> {
        let record = keys::idempotency(customer, key);
        let mut expr = Expr::default();
        let condition =
            format!("{} AND attribute_not_exists({})", expr.eq("requestHash", s(request_hash)), expr.name("response"));
        let result = self
            .db
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(record.pk))
            .key(SK, s(record.sk))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        // Refused: the record completed or changed hands meanwhile, and is not ours to delete.
        applied(result, "releasing an idempotency key").map(|_| ())
    }
}
