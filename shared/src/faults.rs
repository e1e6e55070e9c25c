//! Crash injection, compiled only into tests (the `faults` feature): a test runs a handler with
//! one point armed, and the handler panics there, so nothing after it runs: no later write, no
//! idempotency record completed or released, no reply. That is a process dying at that line. In
//! any other build [`point`] is an empty function.

/// Where a write path can be stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// An `Idempotency-Key` was claimed; nothing else happened.
    AfterClaim,
    /// The `PENDING` payment and its hold are written; the provider was not asked.
    AfterPaymentWrite,
    /// The provider answered a charge; its answer is not written.
    AfterCharge,
    /// A refund's hold is written; the provider was not asked.
    AfterRefundHold,
    /// The provider answered a refund; its answer is not written.
    AfterRefund,
}

#[cfg(feature = "faults")]
tokio::task_local! {
    static ARMED: Point;
}

/// Runs `work` with `point` armed: reaching it panics, as if the process died there.
#[cfg(feature = "faults")]
pub async fn armed<F: std::future::Future>(point: Point, work: F) -> F::Output {
    ARMED.scope(point, work).await
}

/// A place a test may stop the process at.
#[inline]
pub fn point(here: Point) {
    #[cfg(feature = "faults")]
    if ARMED.try_with(|armed| *armed == here).unwrap_or(false) {
        panic!("injected crash at {here:?}");
    }
    #[cfg(not(feature = "faults"))]
    let _ = here;
}
