//! The outbox relay and the sweeper, on one schedule: sends the events that writers could not
//! deliver, then decides the orders left `PENDING` too long (a message dead-lettered, a queue
//! that was down when the relay ran), so no order stays `PENDING` for more than a few minutes.

use platform::domain::{OrderRules, Timestamp};
use platform::events::EventPublisher;
use platform::metrics::{self, Metric};
pub use platform::order_decisions::Swept;
pub use platform::outbox::Relayed;
use platform::store::OrderStore;
use tracing::Instrument;

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

/// What one scheduled run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ran {
    pub relayed: Relayed,
    pub swept: Swept,
}

/// The scheduled run: the relay, then the sweep. Each runs even when the other fails; the run
/// fails (and its alarm counts it) if either did.
pub async fn run(
    store: &OrderStore,
    events: &EventPublisher,
    rules: &OrderRules,
    now: Timestamp,
) -> platform::Result<Ran> {
    async {
        let relayed = handle(store, events, now).await;
        let swept = platform::order_decisions::sweep(store, rules, now).await;
        Ok(Ran { relayed: relayed?, swept: swept? })
    }
    .instrument(platform::telemetry::scheduled_run())
    .await
}
