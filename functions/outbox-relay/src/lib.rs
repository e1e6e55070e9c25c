//! The outbox relay: on a schedule, sends the events that writers could not deliver.

use platform::domain::Timestamp;
use platform::events::EventPublisher;
use platform::metrics::{self, Metric};
pub use platform::outbox::Relayed;
use platform::store::OrderStore;

/// How long an outbox may hold an event before the relay takes over: well past the time its
/// writer needs to deliver it itself.
pub const GRACE_MILLIS: i64 = 30_000;

/// Delivers every outbox whose events have waited longer than the grace period.
pub async fn handle(store: &OrderStore, events: &EventPublisher, now: Timestamp) -> platform::Result<Relayed> {
    let before = Timestamp::from_millis(now.millis() - GRACE_MILLIS);
    let run = platform::outbox::relay(store, events, before).await?;
    if run != Relayed::default() {
        tracing::info!(?run, "relayed stranded outboxes");
    }
    let counts =
        [Metric::count("OutboxesRelayed", run.orders as i64), Metric::count("OutboxRelayFailures", run.failed as i64)];
    metrics::emit(&counts, None, &[]);
    Ok(run)
}
