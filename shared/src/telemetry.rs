//! Logging and the Lambda entry point shared by every HTTP function.

use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

/// JSON or text logs as the Lambda environment asks (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`).
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}

/// Serves an HTTP handler on the Lambda runtime. Handlers always answer: errors are already
/// responses in the contract's shape.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::run(service_fn(|req| {
        let response = handler(req);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}
