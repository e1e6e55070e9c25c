//! `--traces`: the functions again with OpenTelemetry on, each sending its spans before every
//! answer to an OTLP/HTTP receiver here that counts and drops them, as a collector beside the
//! function would take them. Its table sits beside the first one: the cost of traces on.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};

/// What the receiver took.
#[derive(Debug, Default)]
pub struct Received {
    pub exports: AtomicU64,
    pub bytes: AtomicU64,
}

/// Starts the receiver; its base URL (for `OTEL_EXPORTER_OTLP_ENDPOINT`) and its counts.
pub async fn receiver() -> std::io::Result<(String, Arc<Received>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let received = Arc::new(Received::default());
    let counts = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counts = counts.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let counts = counts.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes().len()).unwrap_or(0);
                        counts.exports.fetch_add(1, Ordering::Relaxed);
                        counts.bytes.fetch_add(body as u64, Ordering::Relaxed);
                        let ok = hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(b"{}")))
                            .expect("a valid response");
                        Ok::<_, Infallible>(ok)
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    Ok((url, received))
}
