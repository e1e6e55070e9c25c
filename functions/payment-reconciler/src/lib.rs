//! The payment reconciler: on a schedule, settles every payment and refund left `PENDING` whose
//! next look is due (`Cashier::reconcile`): it looks each up at the provider by our id, and asks
//! for it again (with the same idempotency key) only while the provider keeps that key, so money
//! is never moved twice. It keeps looking, less often as a movement ages; one still unknown a
//! day after it began is counted in `PendingMoneyStuck`, whose alarm calls a person.

use platform::cashier::{Cashier, Reconciled};
use platform::domain::Timestamp;
use platform::payment_provider::PaymentProvider;
use tracing::Instrument;

pub async fn handle<P: PaymentProvider>(cashier: &Cashier<P>, now: Timestamp) -> platform::Result<Reconciled> {
    let run = cashier.reconcile(now).instrument(platform::telemetry::scheduled_run()).await?;
    if run != Reconciled::default() {
        tracing::info!(?run, "reconciled pending money");
    }
    Ok(run)
}
