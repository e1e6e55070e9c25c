//! The outbox relay: on a schedule, sends the events that writers could not deliver.

use platform::domain::Timestamp;
use platform::events::EventPublisher;
use platform::store::OrderStore;
use serde::Serialize;

/// How long an outbox may hold an event before the relay takes over: well past the time its
/// writer needs to deliver it itself.
pub const GRACE_MILLIS: i64 = 30_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relayed {
    pub orders: usize,
}

/// Delivers every outbox whose events have waited longer than the grace period.
pub async fn handle(store: &OrderStore, events: &EventPublisher, now: Timestamp) -> platform::Result<Relayed> {
    let before = Timestamp::from_millis(now.millis() - GRACE_MILLIS);
    let orders = platform::outbox::relay(store, events, before).await?;
    if orders > 0 {
        tracing::info!(orders, "relayed stranded outboxes");
    }
    Ok(Relayed { orders })
}
