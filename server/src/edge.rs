//! The HTTP edge: what API Gateway does in front of the functions (routes from `template.yaml`,
//! the JWT authorizer, payload 2.0 events, its body limit and 30 s timeout), then the function's
//! handler, in-process. Besides the API, what an orchestrator asks of a server: `/health/live`,
//! `/health/startup`, `/health/ready` (the table answers within [`READY_TIMEOUT`], and the server
//! is not shutting down), and a graceful stop ([`serve_until`]). `/metrics` is not here: it has a
//! port of its own (`prometheus::serve`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use platform::Error;
use platform::domain::OrderId;
use platform::http::{MAX_BODY_BYTES, error_response};

use crate::App;
use crate::api_gateway::GatewayRequest;
use crate::app::Routed;
use crate::auth::Authorizer;

/// API Gateway's integration timeout for an HTTP API: past it the client gets a 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the readiness check waits for the table.
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What serves: the functions, the authorizer, and any routes of the caller's own.
#[derive(Clone)]
pub struct Edge {
    pub app: Arc<App>,
    pub authorizer: Arc<Authorizer>,
    /// Serve the API's routes; `false` answers the health checks only (the worker).
    pub api: bool,
    /// Routes besides the template's, which whoever starts the edge hands it (the local platform's).
    extra: Arc<[ExtraRoute]>,
    stopping: Arc<AtomicBool>,
}

/// What an extra route's handler returns.
pub type Answer = Pin<Box<dyn Future<Output = lambda_http::Response<Body>> + Send>>;

/// A route the edge serves besides the template's. It always needs a verified token; its handler
/// gets the request as a function would.
#[derive(Clone)]
pub struct ExtraRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: Arc<dyn Fn(Arc<App>, lambda_http::Request) -> Answer + Send + Sync>,
}

/// Where a request goes: a function of the template, or an extra route.
enum Target<'a> {
    Function(Routed),
    Extra(&'a ExtraRoute),
}

impl Edge {
    pub fn new(app: Arc<App>, authorizer: Arc<Authorizer>) -> Self {
        Self { app, authorizer, api: true, extra: Arc::new([]), stopping: Arc::default() }
    }

    /// The same edge, also serving `routes`.
    pub fn with_routes(self, routes: Vec<ExtraRoute>) -> Self {
        Self { extra: routes.into(), ..self }
    }

    /// Where API Gateway (or an extra route) would send a request, if anywhere: decided once.
    fn target(&self, method: &str, path: &str) -> Option<Target<'_>> {
        match self.app.route(method, path) {
            Some(routed) => Some(Target::Function(routed)),
            None => self.extra.iter().find(|r| r.method == method && r.path == path).map(Target::Extra),
        }
    }

    /// An edge that answers the health checks and nothing else (the worker's).
    pub fn health_only(app: Arc<App>) -> Self {
        // It serves no route, so its verifier is never asked; a random secret accepts nothing.
        let nothing = Arc::new(Authorizer::hs256(&uuid::Uuid::new_v4().to_string(), "nobody", &[]));
        Self { api: false, ..Self::new(app, nothing) }
    }
}

/// Serves `edge` on `listener` until the task is dropped (the local platform, the tests).
pub async fn serve(listener: tokio::net::TcpListener, edge: Edge) -> std::io::Result<()> {
    serve_until(listener, edge, std::future::pending(), Stop::default()).await
}

/// How a server stops.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// After the signal, how long readiness fails while requests are still served, so that the
    /// load balancer stops sending new ones before the listener closes.
    pub drain: Duration,
    /// Then, how long requests in flight may take to finish.
    pub grace: Duration,
}

impl Default for Stop {
    fn default() -> Self {
        Self { drain: Duration::from_secs(5), grace: Duration::from_secs(20) }
    }
}

/// Serves until `shutdown` resolves; then reports not ready for `stop.drain`, stops accepting,
/// and waits up to `stop.grace` for the requests in flight. `Ok` once they all finished, an error
/// if some were still running at the deadline.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    edge: Edge,
    shutdown: impl Future<Output = ()>,
    stop: Stop,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stopping = edge.stopping.clone();
    let mut shutdown = std::pin::pin!(async {
        shutdown.await;
        stopping.store(true, Ordering::SeqCst);
        tracing::info!(drain = ?stop.drain, "stopping: not ready any more, still serving");
        tokio::time::sleep(stop.drain).await;
    });
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        continue;
                    }
                };
                let edge = edge.clone();
                let service = service_fn(move |req| handle(edge.clone(), req));
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(grace = ?stop.grace, "stopped accepting; finishing the requests in flight");
    match tokio::time::timeout(stop.grace, graceful.shutdown()).await {
        Ok(()) => Ok(()),
        Err(_) => Err(std::io::Error::other("requests were still in flight at the shutdown deadline")),
    }
}

/// The orchestrator's questions: alive (the process answers), started (it serves), ready (it
/// should get traffic: not stopping, and the table answers).
async fn health(edge: &Edge, path: &str) -> Option<lambda_http::Response<Body>> {
    let ok = match path {
        "/health/live" | "/health/startup" => true,
        "/health/ready" => !edge.stopping.load(Ordering::SeqCst) && table_answers(&edge.app).await,
        _ => return None,
    };
    let (status, body) = if ok { (200, r#"{"status":"ok"}"#) } else { (503, r#"{"status":"unavailable"}"#) };
    Some(
        lambda_http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::Text(body.into()))
            .expect("static response"),
    )
}

/// Whether the table answers a read (of an order that never exists) in time.
async fn table_answers(app: &App) -> bool {
    let probe = OrderId::parse("id", "00000000-0000-4000-8000-000000000000").expect("a valid id");
    matches!(tokio::time::timeout(READY_TIMEOUT, app.function("orders-get").store.get(&probe)).await, Ok(Ok(_)))
}

async fn handle(edge: Edge, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    if let Some(answer) = health(&edge, path).await {
        return Ok(convert(answer));
    }
    if !edge.api {
        return Ok(convert(crate::app::api_gateway_not_found()));
    }
    let Edge { app, authorizer, .. } = &edge;
    // API Gateway routes first: an unknown route is a 404, and a route opted out of the
    // authorizer (the provider's webhook) gets no token check.
    let Some(target) = edge.target(parts.method.as_str(), path) else {
        return Ok(convert(crate::app::api_gateway_not_found()));
    };
    let (authorized, route) = match &target {
        Target::Function(routed) => (routed.authorized, routed.route.clone()),
        Target::Extra(extra) => (true, extra.path.to_owned()),
    };
    let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
    let claims = match authorizer.verify(authorization).await {
        Some(claims) => Some(claims),
        None if authorized => return Ok(convert(error_response(&Error::Unauthorized))),
        None => None,
    };
    // API Gateway itself refuses bodies over 10 MB; anything over our limit only needs to be
    // known as too large.
    let body = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => vec![0; MAX_BODY_BYTES + 1],
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let request = GatewayRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
        claims,
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let response = match target {
        Target::Function(routed) => match tokio::time::timeout(REQUEST_TIMEOUT, app.serve(routed, request)).await {
            Ok(response) => response,
            Err(_) => service_unavailable(),
        },
        Target::Extra(extra) => (extra.handler)(app.clone(), request.into_request()).await,
    };
    let status = response.status().as_u16();
    crate::prometheus::record_request(&route, parts.method.as_str(), status, started.elapsed().as_secs_f64());
    tracing::info!(method = %parts.method, path = parts.uri.path(), status, "request");
    Ok(convert(response))
}

/// What API Gateway answers when the function did not answer within [`REQUEST_TIMEOUT`].
fn service_unavailable() -> lambda_http::Response<Body> {
    lambda_http::Response::builder()
        .status(503)
        .header("content-type", "application/json")
        .body(Body::Text(r#"{"message":"Service Unavailable"}"#.into()))
        .expect("static response")
}

fn convert(response: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes: &[u8] = body.as_ref();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(bytes)))
}
