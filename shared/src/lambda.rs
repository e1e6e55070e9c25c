//! How a function's process runs on Lambda: one invocation at a time (on-demand), or, on Lambda
//! Managed Instances, up to `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once in one process, all
//! sharing the clients built at init. The handlers hold no per-invocation state outside their
//! arguments, so the same code serves both; `tests/api/concurrency.rs` runs one process under
//! concurrent invocations to prove it.

use std::future::Future;

use lambda_http::lambda_runtime::{self, Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The variable Lambda sets to the invocations one execution environment is given at once.
pub const MAX_CONCURRENCY: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// Invocations this process is given at once: 1 on-demand, where the variable is unset.
pub fn max_concurrency() -> usize {
    std::env::var(MAX_CONCURRENCY).ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

/// Runs a function's `main`: on a single-threaded runtime for one invocation at a time (the
/// cheapest init; an on-demand sandbox gets a share of one CPU), on a multi-threaded one when
/// invocations come at once (a Managed Instances environment has whole vCPUs).
pub fn start<F: Future>(main: F) -> F::Output {
    let mut runtime = if max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    runtime.enable_all().build().expect("a Tokio runtime").block_on(main)
}

/// The most a warm-up may add to init: past it the first request opens its own connection.
pub const WARM_UP_BUDGET: std::time::Duration = std::time::Duration::from_millis(500);

/// Makes, during init, a call the function's first request would otherwise make first: Lambda
/// runs init at burst CPU, the invocation at the memory's share of one, so resolving the endpoint,
/// connecting and completing TLS here costs the user a fraction of what it costs on the first
/// request (docs/performance.md, "The first invocation"). `probe` must be a call the function's
/// role already allows and that changes nothing (a read of an id never issued); its answer is
/// dropped, and a slow or failing endpoint costs init at most [`WARM_UP_BUDGET`].
pub async fn warm_up<F: Future>(probe: F) {
    let _ = tokio::time::timeout(WARM_UP_BUDGET, probe).await;
}

/// What a process shares across its invocations: made once at init, for the process's life.
pub fn shared<D>(deps: D) -> &'static D {
    Box::leak(Box::new(deps))
}

/// Serves an event handler (the queue consumer, the schedules), as many invocations at once as
/// Lambda gives this process; each answer waits for the invocation's spans to be sent.
pub async fn serve<D, A, R, E, F, Fut>(deps: D, handler: F) -> Result<(), Error>
where
    D: Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    E: Into<Diagnostic> + std::fmt::Debug + Send + 'static,
    F: Fn(&'static D, LambdaEvent<A>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    let deps = shared(deps);
    lambda_runtime::run_concurrent(lambda_runtime::service_fn(move |event| async move {
        let outcome = handler(deps, event).await;
        crate::telemetry::flush().await;
        outcome
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_warm_up_whose_endpoint_never_answers_ends_init_at_its_budget() {
        let bounded = tokio::time::timeout(WARM_UP_BUDGET * 4, warm_up(std::future::pending::<()>())).await;
        assert!(bounded.is_ok(), "the warm-up held init past its budget");
    }
}
