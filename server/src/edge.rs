//! The local HTTP API: API Gateway's authorizer and routing in front of the functions' handlers.

use std::convert::Infallible;
use std::sync::Arc;

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
use crate::auth::Authorizer;

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    authorizer: Arc<Authorizer>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let (app, authorizer) = (app.clone(), authorizer.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(app.clone(), authorizer.clone(), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn handle(
    app: Arc<App>,
    authorizer: Arc<Authorizer>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    // API Gateway routes first: an unknown route is a 404, and a route opted out of the
    // authorizer (the provider's webhook) gets no token check.
    let authorized = match app.route(parts.method.as_str(), path) {
        Some(routed) => routed.authorized,
        None if path == LOCAL_REPORT => true,
        None => return Ok(convert(crate::app::api_gateway_not_found())),
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
    let response = if request.method == "POST" && request.path == LOCAL_REPORT {
        local_report(&app, &request).await
    } else {
        app.handle(request).await
    };
    tracing::info!(method = %parts.method, path = parts.uri.path(), status = response.status().as_u16(), "request");
    Ok(convert(response))
}

/// The local platform's own route: runs the daily report now, for `{"date": "YYYY-MM-DD"}` or a
/// backfill's `{"from", "to"}`.
/// Admins only; it does not exist in `template.yaml`.
pub const LOCAL_REPORT: &str = "/_local/report";

async fn local_report(app: &App, request: &GatewayRequest) -> lambda_http::Response<Body> {
    let req = request.clone().into_request();
    platform::http::respond(
        async {
            let caller = platform::http::caller(&req)?;
            if !caller.admin {
                return Err(Error::Forbidden("the report needs the orders:admin scope".into()));
            }
            let payload: serde_json::Value = platform::http::json_body(&req)?;
            let summary = daily_report::handle(&app.report, &payload, platform::domain::Timestamp::now()).await?;
            Ok(platform::http::json(lambda_http::http::StatusCode::OK, &summary))
        }
        .await,
    )
}

fn convert(response: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes: &[u8] = body.as_ref();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(bytes)))
}
