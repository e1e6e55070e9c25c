//! The ledger's items: written by the money transactions (`payments.rs`, `refunds.rs`), one per
//! step, never changed; read a day at a time by the daily report.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::transact::new_item;
use super::{Item, PaymentStore, expr::Expr, from_item, s, to_item};
use crate::domain::LedgerEntry;
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
}
