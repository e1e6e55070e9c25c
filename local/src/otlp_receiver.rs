//! An OTLP/HTTP trace receiver, as a collector beside a function takes its spans: it answers
//! every export at once and keeps what it was sent, for the tests to decode and the bench to count.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};

/// One export as it arrived.
#[derive(Debug, Clone)]
pub struct Export {
    pub path: String,
    pub content_type: String,
    pub body: Bytes,
}

pub struct OtlpReceiver {
    pub addr: SocketAddr,
    exports: Arc<Mutex<Vec<Export>>>,
}

impl OtlpReceiver {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let exports = Arc::new(Mutex::new(vec![]));
        let kept = exports.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| receive(kept.clone(), req));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Ok(Self { addr, exports })
    }

    /// Its base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every export so far, in order of arrival.
    pub fn exports(&self) -> Vec<Export> {
        self.exports.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every export so far, forgotten here.
    pub fn take(&self) -> Vec<Export> {
        std::mem::take(&mut *self.exports.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

async fn receive(
    exports: Arc<Mutex<Vec<Export>>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    exports.lock().unwrap_or_else(|e| e.into_inner()).push(Export { path, content_type, body });
    let ok = hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")));
    Ok(ok.expect("a valid response"))
}
