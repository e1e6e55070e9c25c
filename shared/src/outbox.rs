//! Delivery of the events a write left in an order's outbox.

use tracing::Instrument;

use crate::domain::{CustomerId, OrderId, Timestamp};
use crate::error::Result;
use crate::events::{Event, EventPublisher, OutboxEntry};
use crate::store::OrderStore;

/// How long a request spends delivering its events before it leaves them to the relay.
pub const DELIVERY_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Publishes the events a write just left in an order's outbox, then clears them.
///
/// It never fails the request that made the change, and never holds it past [`DELIVERY_BUDGET`]:
/// the change and its events are already stored together, and whatever was not sent by then stays
/// in the outbox for the relay.
pub async fn deliver(
    store: &OrderStore,
    publisher: &EventPublisher,
    (order_id, customer_id): (OrderId, &CustomerId),
    outbox: &[OutboxEntry],
) {
    let delivery = deliver_now(store, publisher, (order_id, customer_id), outbox);
    if tokio::time::timeout(DELIVERY_BUDGET, delivery).await.is_err() {
        tracing::warn!(%order_id, "delivery took too long; the relay sends what is left");
    }
}

async fn deliver_now(
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

/// What one relay run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relayed {
    /// Orders whose stranded events it delivered.
    pub orders: usize,
    /// Orders it could not deliver for (left for the next run, logged).
    pub failed: usize,
}

/// Sends again what is stranded in outboxes: events older than `before` that a writer could not
/// deliver (the queue was down, or the process died after its write). Consumers tolerate the
/// duplicates this may send. Each order is on its own: one that fails (an event that does not
/// decode, a send that fails) is logged and left for the next run, and the others go on.
pub async fn relay(store: &OrderStore, publisher: &EventPublisher, before: Timestamp) -> Result<Relayed> {
    let mut run = Relayed::default();
    for id in store.stranded_outboxes(before).await? {
        match relay_one(store, publisher, &id).await {
            Ok(true) => run.orders += 1,
            Ok(false) => {}
            Err(error) => {
                run.failed += 1;
                tracing::error!(order_id = %id, error = ?error, "an outbox could not be relayed; it is tried again next run");
            }
        }
    }
    Ok(run)
}

/// Delivers one order's outbox; `Ok(false)` when it was empty by now.
async fn relay_one(store: &OrderStore, publisher: &EventPublisher, id: &OrderId) -> Result<bool> {
    let Some(written) = store.with_outbox(id).await? else { return Ok(false) };
    if written.outbox.is_empty() {
        return Ok(false);
    }
    for entry in &written.outbox {
        // Sent in the trace of the change that left it, not in the relay run's.
        let span =
            tracing::info_span!("relay", order_id = %id, event_id = %entry.event_id, trace_id = tracing::field::Empty);
        crate::telemetry::continues(&span, entry.traceparent.as_deref());
        publisher.publish(&Event::new(*id, &written.order.customer_id, entry)).instrument(span).await?;
    }
    store.clear_outbox(id, &written.outbox).await?;
    Ok(true)
}
