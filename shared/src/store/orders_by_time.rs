//! Orders found by time: by UTC day of creation (`gsi2`, write-sharded so a busy day reads in
//! parallel), and those awaiting a decision since a time (`gsi4`, sparse).

use super::{Item, OrderStore, decode_order, expr::Expr, s};
use crate::domain::{Order, OrderId, Timestamp};
use crate::error::{Result, ResultExt};
use crate::keys;

impl OrderStore {
    /// Orders `PENDING` a decision since before `before`, from every shard of `gsi4`, oldest first
    /// within a shard.
    #[tracing::instrument(skip(self))]
    pub async fn pending_orders(&self, before: Timestamp) -> Result<Vec<(OrderId, Timestamp)>> {
        let mut found = vec![];
        for shard in 0..keys::PENDING_SHARDS {
            let partition = (keys::GSI4, keys::pending_order_shard(shard));
            for item in super::unfinished(&self.db, &self.table, partition, before, "finding pending orders").await? {
                let key = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let since = key(keys::GSI4.sk).split('#').next().and_then(Timestamp::parse);
                if let (Some(id), Some(since)) = (keys::order_id_of(&key(keys::PK)), since) {
                    found.push((id, since));
                }
            }
        }
        Ok(found)
    }

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
