//! Deciding orders: the processor's rules applied to the version read, written on condition of
//! that version. The order processor decides what the queue brings; the sweeper decides what has
//! waited too long (a message dead-lettered, a queue that was down), by the same code.

use crate::domain::{Order, OrderId, OrderRules, OrderStatus, Timestamp};
use crate::error::{Error, Result};
use crate::metrics::{self, Metric};
use crate::store::{Decision, OrderStore};

/// How often a decision is tried again when the order changes between its read and its write.
const ATTEMPTS: usize = 3;

/// How long an order may wait for the processor before the sweeper decides it: well past the time
/// the queue normally takes (seconds), and within the contract's "a few minutes".
pub const SWEEP_AFTER_MILLIS: i64 = 120_000;

/// Decides order `id` by `rules` if it is `PENDING`. `Ok(Some(order))` when this call decided it;
/// `Ok(None)` when there was nothing to decide (no such order, or decided already). An order that
/// keeps changing under it is a [`Error::ConcurrentChange`].
pub async fn decide(store: &OrderStore, rules: &OrderRules, id: &OrderId) -> Result<Option<Order>> {
    crate::telemetry::about_order(id);
    for _ in 0..ATTEMPTS {
        let Some(order) = store.get(id).await? else {
            tracing::warn!(order_id = %id, "no such order to decide");
            return Ok(None);
        };
        tracing::Span::current().record("customer_id", order.customer_id.as_str());
        if order.status != OrderStatus::Pending {
            return Ok(None);
        }
        let verdict = rules.check(&order);
        match store.decide(&order.order_id, order.version, verdict, Timestamp::now()).await? {
            Decision::Applied(order) => {
                tracing::info!(order_id = %order.order_id, status = order.status.as_str(), "order decided");
                return Ok(Some(order));
            }
            Decision::AlreadyDecided(_) => return Ok(None),
            Decision::Moved => continue,
        }
    }
    Err(Error::ConcurrentChange)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    pub decided: usize,
    pub failed: usize,
    /// How long the oldest order still `PENDING` after the sweep has waited, in seconds.
    pub oldest_pending_seconds: i64,
}

/// Decides every order `PENDING` for longer than [`SWEEP_AFTER_MILLIS`] at `now`, each on its own,
/// and reports the age of the oldest still waiting (the `OldestPendingOrderAge` metric).
pub async fn sweep(store: &OrderStore, rules: &OrderRules, now: Timestamp) -> Result<Swept> {
    let mut run = Swept::default();
    let before = Timestamp::from_millis(now.millis() - SWEEP_AFTER_MILLIS);
    for (id, since) in store.pending_orders(before).await? {
        match decide(store, rules, &id).await {
            Ok(Some(_)) => run.decided += 1,
            Ok(None) => {}
            Err(error) => {
                run.failed += 1;
                run.oldest_pending_seconds = run.oldest_pending_seconds.max((now.millis() - since.millis()) / 1000);
                tracing::error!(order_id = %id, error = ?error, "a pending order could not be decided; next run");
            }
        }
    }
    metrics::emit(
        &[
            Metric::count("OrdersSwept", run.decided as i64),
            Metric { name: "OldestPendingOrderAge", value: run.oldest_pending_seconds, unit: "Seconds" },
        ],
        None,
        &[],
    );
    Ok(run)
}
