//! A Lambda Runtime API emulator: serves events to one bootstrap process and collects its
//! answers, as the Lambda service does (`/2018-06-01/runtime/invocation/next` and friends). Polls
//! may come at once, as from a process on Lambda Managed Instances: each gets the next event. The
//! bench times functions under it; the concurrency test runs one process under it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// What an invocation came to: the function's response, or the error it reported.
pub type Outcome = Result<Value, String>;

struct Pending {
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

struct Shared {
    events: Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// When the bootstrap first asked for an event: the end of its init.
    first_poll: Mutex<Option<Instant>>,
    /// The most invocations the function held at once (handed out, not yet answered).
    most_at_once: Mutex<usize>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events, receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            events: Mutex::new(receiver),
            waiting: Mutex::default(),
            first_poll: Mutex::default(),
            most_at_once: Mutex::default(),
        });
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| route(shared.clone(), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Self { addr, events, shared })
    }

    /// When the bootstrap first polled for work, once it has.
    pub async fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().await
    }

    /// Waits up to `within` for the bootstrap's first poll for work (the end of its init), and
    /// says when it came; `None` if it did not.
    pub async fn init_done(&self, within: std::time::Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(first) = self.first_poll().await {
                return Some(first);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_micros(100)).await;
        }
    }

    /// The most invocations the function has held at once: 1 for a process that takes one at a time.
    pub async fn most_at_once(&self) -> usize {
        *self.shared.most_at_once.lock().await
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.events.send(Pending { event, reply }).await.map_err(|_| "the emulator stopped".to_owned())?;
        answer.await.map_err(|_| "the function never answered".to_owned())?
    }
}

/// The variables Lambda gives a function's process: `function` at `memory_mb`, polling the Runtime
/// API at `runtime_api`.
pub fn lambda_env(runtime_api: SocketAddr, function: &str, memory_mb: u32) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
    ]
}

async fn route(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let ok = |body: Bytes| hyper::Response::new(Full::new(body));
    if path.ends_with("/runtime/invocation/next") {
        shared.first_poll.lock().await.get_or_insert_with(Instant::now);
        let Some(pending) = shared.events.lock().await.recv().await else {
            return Ok(ok(Bytes::new()));
        };
        let id = uuid::Uuid::new_v4().to_string();
        let mut waiting = shared.waiting.lock().await;
        waiting.insert(id.clone(), pending.reply);
        let held = waiting.len();
        drop(waiting);
        let mut most = shared.most_at_once.lock().await;
        *most = (*most).max(held);
        drop(most);
        let deadline =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() + 30_000;
        let response = hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", &id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
            .body(Full::new(Bytes::from(pending.event.to_string())))
            .expect("static headers");
        return Ok(response);
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["2018-06-01", "runtime", "invocation", id, kind] = segments.as_slice() {
        let outcome = match *kind {
            "response" => Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
            _ => Err(String::from_utf8_lossy(&body).into_owned()),
        };
        if let Some(reply) = shared.waiting.lock().await.remove(*id) {
            let _ = reply.send(outcome);
        }
    } else if path.ends_with("/runtime/init/error") {
        eprintln!("init error: {}", String::from_utf8_lossy(&body));
    }
    Ok(hyper::Response::builder().status(202).body(Full::new(Bytes::new())).expect("static"))
}
