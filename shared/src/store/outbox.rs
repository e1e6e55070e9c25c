//! The outbox of an order: events written with the change they announce, waiting for delivery.

use super::{OrderStore, applied, expr::Expr, n, s, unfinished};
use crate::domain::{OrderId, Timestamp};
use crate::error::Result;
use crate::events::OutboxEntry;
use crate::keys::{self, GSI3};
use crate::store::Written;

impl OrderStore {
    /// Orders whose outbox has held events since before `before`, from every shard of `gsi3`.
    #[tracing::instrument(skip(self))]
    pub async fn stranded_outboxes(&self, before: Timestamp) -> Result<Vec<OrderId>> {
        let mut ids = vec![];
        for shard in 0..keys::OUTBOX_SHARDS {
            let partition = (keys::GSI3, keys::outbox_shard(shard));
            for item in unfinished(&self.db, &self.table, partition, before, "finding stranded outboxes").await? {
                if let Some(id) = item.get(keys::PK).and_then(|pk| pk.as_s().ok()).and_then(|pk| keys::order_id_of(pk))
                {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// An order with the events waiting in its outbox.
    #[tracing::instrument(skip(self))]
    pub async fn with_outbox(&self, id: &OrderId) -> Result<Option<Written>> {
        self.read(id).await?.map(super::orders::written).transpose()
    }

    /// Removes delivered events from an order's outbox, provided nothing was added since; when
    /// something was, the relay delivers the whole outbox again later.
    #[tracing::instrument(skip(self, delivered))]
    pub async fn clear_outbox(&self, id: &OrderId, delivered: &[OutboxEntry]) -> Result<bool> {
        let Some(last) = delivered.last() else {
            return Ok(true);
        };
        let key = keys::order(id);
        let mut expr = Expr::default();
        let outbox = expr.name("outbox");
        let update = format!("REMOVE {outbox}, {}, {}", expr.name(GSI3.pk), expr.name(GSI3.sk));
        let condition = format!(
            "size({outbox}) = {} AND {outbox}[{}].{} = {}",
            expr.value(n(delivered.len())),
            delivered.len() - 1,
            expr.name("eventId"),
            expr.value(s(last.event_id.to_string())),
        );
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(key.pk))
            .key(keys::SK, s(key.sk))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        applied(result, "clearing an outbox")
    }
}
