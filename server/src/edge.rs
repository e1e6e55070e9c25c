//! The HTTP edge: what API Gateway does in front of the functions (routes from `template.yaml`,
//! the JWT authorizer, payload 2.0 events, its body limit and 30 s timeout), then the function's
//! handler, in-process. Besides the API, what an orchestrator asks of a server: `/health/live`,
//! `/health/startup`, `/health/ready` (the server is not shutting down: whether this pod can serve,
//! never whether a dependency answers, so a DynamoDB blip does not take every pod out of service
//! at once; that shows in the 5xx metrics and alarms), and a graceful stop ([`serve_until`]). `/metrics` is not here: it has a
//! port of its own (`prometheus::serve`).

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
use platform::http::{MAX_BODY_BYTES, error_response};

use crate::App;
use crate::api_gateway::GatewayRequest;
use crate::app::Routed;
use crate::auth::Authorizer;

/// API Gateway's integration timeout for an HTTP API: past it the client gets a 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a request's body may take to arrive; a slower one is dropped, connection and all,
    /// before any handler runs.
    pub body_timeout: Duration,
    /// The most connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { body_timeout: Duration::from_secs(10), max_connections: 1024 }
    }
}

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
    limits: Limits,
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
        Self { app, authorizer, api: true, extra: Arc::new([]), stopping: Arc::default(), limits: Limits::default() }
    }

    /// The same edge, with other limits.
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
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
    let connections = Arc::new(tokio::sync::Semaphore::new(edge.limits.max_connections));
    loop {
        let next = async {
            let permit = connections.clone().acquire_owned().await.expect("the semaphore is never closed");
            (permit, listener.accept().await)
        };
        tokio::select! {
            (permit, accepted) = next => {
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
                    drop(permit);
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
/// should get traffic: it is not stopping).
async fn health(edge: &Edge, path: &str) -> Option<lambda_http::Response<Body>> {
    let ok = match path {
        "/health/live" | "/health/startup" => true,
        "/health/ready" => !edge.stopping.load(Ordering::SeqCst),
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

/// One request: its answer, or an error that drops the connection unanswered (a body slower than
/// [`Limits::body_timeout`]).
async fn handle(edge: Edge, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
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
    let body =
        match tokio::time::timeout(edge.limits.body_timeout, Limited::new(body, MAX_BODY_BYTES + 1).collect()).await {
            Ok(Ok(collected)) => collected.to_bytes().to_vec(),
            Ok(Err(_)) => vec![0; MAX_BODY_BYTES + 1],
            Err(_) => {
                tracing::info!(path, "a request's body did not arrive in time; connection dropped");
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the request's body was too slow"));
            }
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
