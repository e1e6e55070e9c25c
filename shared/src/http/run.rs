use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

/// Serves an HTTP handler on the Lambda runtime. Handlers always answer: errors are already
/// responses in the contract's shape.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
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
