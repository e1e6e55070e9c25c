//! Delivery of the events a write left in an order's outbox.

use crate::events::{Event, EventPublisher};
use crate::store::{OrderStore, Written};

/// Publishes the events waiting in a freshly written order's outbox, then clears it.
///
/// It never fails the request that made the change: the change and its events are already
/// stored together, and whatever could not be sent now stays in the outbox for the relay.
pub async fn deliver(store: &OrderStore, publisher: &EventPublisher, written: &Written) {
    for entry in &written.outbox {
        if let Err(error) = publisher.publish(&Event::new(&written.order, entry)).await {
            tracing::warn!(order_id = %written.order.order_id, error = %error, "event left in the outbox for the relay");
            return;
        }
    }
    if let Err(error) = store.clear_outbox(&written.order.order_id, &written.outbox).await {
        tracing::warn!(order_id = %written.order.order_id, error = %error, "delivered events left in the outbox");
    }
}
