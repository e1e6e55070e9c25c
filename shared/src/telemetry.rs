//! Logs and traces shared by every function.
//!
//! In Lambda, logs are JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`): each line carries the runtime's span
//! with the Lambda `requestId` and X-Ray trace id, and ours with the `correlation_id` (the API
//! Gateway request id, or the SQS message id), the `cold_start` flag and the `customer_id` once
//! the caller is known. Headers, tokens and bodies are never logged.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

static COLD: AtomicBool = AtomicBool::new(true);

/// True for the first invocation this process serves.
pub fn cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// JSON or text logs as the Lambda environment asks (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`).
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}

/// Runs an HTTP handler's work inside the request's span, and logs one access line for it.
pub async fn traced(req: &Request, work: impl Future<Output = Response<Body>>) -> Response<Body> {
    let correlation_id = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let span = tracing::info_span!(
        "request",
        correlation_id,
        cold_start = cold_start(),
        method = %req.method(),
        path = req.uri().path(),
        customer_id = tracing::field::Empty,
    );
    let response = work.instrument(span.clone()).await;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request handled"));
    response
}
