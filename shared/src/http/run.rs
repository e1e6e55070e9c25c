use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

/// Serves an HTTP handler on the Lambda runtime, as many invocations at once as Lambda gives this
/// process (`platform::lambda`), all sharing `deps`. Handlers always answer: errors are already
/// responses in the contract's shape. Each answer waits for the invocation's spans to be sent
/// (`telemetry::flush`), as the sandbox may be frozen once it is given.
pub async fn run<D, F, Fut>(deps: D, handler: F) -> Result<(), lambda_http::Error>
where
    D: Send + Sync + 'static,
    F: Fn(&'static D, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let deps = crate::lambda::shared(deps);
    lambda_http::run_concurrent(service_fn(move |req| {
        let response = handler(deps, req);
        async move {
            let response = response.await;
            crate::telemetry::flush().await;
            Ok::<_, lambda_http::Error>(response)
        }
    }))
    .await
}
