//! Delivery of the events a write left in an order's outbox.

use crate::domain::{CustomerId, OrderId, Timestamp};
use crate::error::Result;
use crate::events::{Event, EventPublisher, OutboxEntry};
use crate::store::OrderStore;

/// Publishes the events a write just left in an order's outbox, then clears them.
///
/// It never fails the request that made the change: the change and its events are already
/// stored together, and whatever could not be sent now stays in the outbox for the relay.
pub async fn deliver(
    store: &OrderStore,
    publisher: &EventPublisher,
    (order_id, customer_id): (OrderId, &CustomerId),
    outbox: &[OutboxEntry],
) {
    for entry in outbox {
        if let Err(error) = publisher.publish(&Event::new(order_id, customer_id, entry)).await {
            tracing::warn!(%order_id, error = %error, "event left in the outbox for the relay");
            return;
        }
    }
    if let Err(error) = store.clear_outbox(&order_id, outbox).await {
        tracing::warn!(%order_id, error = %error, "delivered events left in the outbox");
    }
}

/// Sends again what is stranded in outboxes: events older than `before` that a writer could not
/// deliver (the queue was down, or the process died after its write). Returns how many orders
/// it delivered for. Consumers tolerate the duplicates this may send.
pub async fn relay(store: &OrderStore, publisher: &EventPublisher, before: Timestamp) -> Result<usize> {
    let mut delivered = 0;
    for id in store.stranded_outboxes(before).await? {
        let Some(written) = store.with_outbox(&id).await? else { continue };
        if written.outbox.is_empty() {
            continue;
        }
        for entry in &written.outbox {
            publisher.publish(&Event::new(id, &written.order.customer_id, entry)).await?;
        }
        store.clear_outbox(&id, &written.outbox).await?;
        delivered += 1;
    }
    Ok(delivered)
}
