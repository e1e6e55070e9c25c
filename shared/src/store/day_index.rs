//! Orders by UTC day of creation (`gsi2`), write-sharded so a busy day reads in parallel.

use super::{Item, OrderStore, decode_order, expr::Expr, s};
use crate::domain::Order;
use crate::error::{Result, ResultExt};
use crate::keys;

impl OrderStore {
    /// One page of one shard of a UTC day's orders, in creation order, with where it ended.
    #[tracing::instrument(skip(self, after))]
    pub async fn day_page(
        &self,
        day: &str,
        shard: u32,
        after: Option<Item>,
        limit: Option<i32>,
    ) -> Result<(Vec<Order>, Option<Item>)> {
        let mut expr = Expr::default();
        let condition = expr.eq(keys::GSI2.pk, s(keys::day_shard(day, shard)));
        let output = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI2.name)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .set_exclusive_start_key(after)
            .set_limit(limit)
            .send()
            .await
            .context("reading a day of orders")?;
        let orders = output.items.unwrap_or_default().into_iter().map(decode_order).collect::<Result<_>>()?;
        Ok((orders, output.last_evaluated_key))
    }
}
