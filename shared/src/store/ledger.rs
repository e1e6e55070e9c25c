//! The ledger's items: written by the money transactions (`payments.rs`, `refunds.rs`), one per
//! step, never changed; read a day at a time by the daily report.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::transact::new_item;
use super::{Item, PaymentStore, expr::Expr, from_item, s, to_item};
use crate::domain::{LedgerEntry, Timestamp};
use crate::error::{Result, ResultExt};
use crate::keys;

/// The `Put` of a ledger entry, for the transaction of the step it records.
pub(super) fn put(table: &str, entry: &LedgerEntry) -> Result<TransactWriteItem> {
    new_item(table, keys::ledger_entry(entry), to_item(entry)?)
}

impl PaymentStore {
    /// One page of one shard of a UTC day's ledger entries, in key order (by when each movement
    /// began, then by movement, then by step), with where it ended. Strongly consistent: the
    /// entries are base-table items.
    #[tracing::instrument(skip(self, after))]
    pub async fn ledger_page(
        &self,
        day: &str,
        shard: u32,
        after: Option<Item>,
        limit: Option<i32>,
    ) -> Result<(Vec<LedgerEntry>, Option<Item>)> {
        let mut expr = Expr::default();
        let condition = expr.eq(keys::PK, s(keys::ledger_shard(day, shard)));
        let output = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .set_exclusive_start_key(after)
            .set_limit(limit)
            .consistent_read(true)
            .send()
            .await
            .context("reading a day of the ledger")?;
        let entries = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_>>()?;
        Ok((entries, output.last_evaluated_key))
    }

    /// When the earliest movement with a step on a UTC day began: the first entry of each shard
    /// (keys start with when the movement began). `None` for a day without money.
    #[tracing::instrument(skip(self))]
    pub async fn earliest_begun(&self, day: &str) -> Result<Option<Timestamp>> {
        let mut earliest: Option<Timestamp> = None;
        for shard in 0..keys::DAY_SHARDS {
            let (first, _) = self.ledger_page(day, shard, None, Some(1)).await?;
            for entry in first {
                earliest = Some(earliest.map_or(entry.initiated_at, |e| e.min(entry.initiated_at)));
            }
        }
        Ok(earliest)
    }
}
