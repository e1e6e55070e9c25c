//! The payment reconciler: on a schedule, asks the provider about every payment and refund left
//! `PENDING` longer than [`GRACE_MILLIS`] and settles them. Asking again is always safe: the
//! provider's idempotency key is our id, so a charge or refund it never received is made once,
//! and one it made is reported, never repeated. After `MAX_RECONCILE_ATTEMPTS` it stops asking
//! and the `PendingMoneyStuck` metric's alarm calls a person.

use platform::cashier::{Cashier, Reconciled};
use platform::domain::Timestamp;
use platform::payment_provider::PaymentProvider;

/// How long a payment or refund stays with the request that made it before the reconciler takes
/// over: longer than any request (the API functions time out after 10 s).
pub const GRACE_MILLIS: i64 = 30_000;

pub async fn handle<P: PaymentProvider>(cashier: &Cashier<P>, now: Timestamp) -> platform::Result<Reconciled> {
    let run = cashier.reconcile(Timestamp::from_millis(now.millis() - GRACE_MILLIS)).await?;
    if run != Reconciled::default() {
        tracing::info!(?run, "reconciled pending money");
    }
    Ok(run)
}
