//! Prometheus metrics at `/metrics` (text format 0.0.4) on a port of their own ([`serve`]), never
//! the API's: requests and their latency per route, method and status, and the business metrics
//! the functions emit as CloudWatch EMF in Lambda (`platform::metrics`), under the same names in
//! Prometheus's spelling (`OrdersCreated` -> `platform_orders_created_total`), money totals by
//! currency among them. Held in memory, per process; Prometheus sums the pods.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

use platform::domain::Currency;
use platform::metrics::Metric;

/// Request latency buckets, in seconds (API Gateway's timeout is the last).
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(String, Labels), f64>,
    gauges: BTreeMap<(String, Labels), f64>,
    requests: BTreeMap<Labels, Histogram>,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// Counts the functions' business metrics from now on (once per process).
pub fn install() {
    platform::metrics::observe(record_business);
}

fn record_business(metric: &Metric, currency: Option<Currency>) {
    let labels: Labels = currency.map(|c| vec![("currency", c.as_str().to_owned())]).unwrap_or_default();
    let base = format!("platform_{}", snake(metric.name));
    let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    match metric.unit {
        "Count" => *registry.counters.entry((format!("{base}_total"), labels)).or_default() += metric.value as f64,
        "None" => {
            *registry.counters.entry((format!("{base}_minor_units_total"), labels)).or_default() += metric.value as f64
        }
        unit => {
            let name = format!("{base}_{}", snake(unit));
            registry.gauges.insert((name, labels), metric.value as f64);
        }
    }
}

/// One request the edge answered.
pub fn record_request(route: &str, method: &str, status: u16, seconds: f64) {
    let labels = vec![("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    let histogram = registry.requests.entry(labels).or_default();
    histogram.count += 1;
    histogram.sum += seconds;
    for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
        if seconds <= bound {
            *bucket += 1;
        }
    }
}

/// Everything recorded, in Prometheus's text format.
pub fn render() -> String {
    let registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    let _ = writeln!(out, "# HELP http_requests_total Requests answered, by route template, method and status.");
    let _ = writeln!(out, "# TYPE http_requests_total counter");
    for (labels, histogram) in &registry.requests {
        let _ = writeln!(out, "http_requests_total{} {}", format_labels(labels, None), histogram.count);
    }
    let _ = writeln!(out, "# HELP http_request_duration_seconds Time to answer a request.");
    let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
    for (labels, histogram) in &registry.requests {
        for (count, bound) in histogram.buckets.iter().zip(BUCKETS) {
            let le = format_labels(labels, Some(&bound.to_string()));
            let _ = writeln!(out, "http_request_duration_seconds_bucket{le} {count}");
        }
        let inf = format_labels(labels, Some("+Inf"));
        let _ = writeln!(out, "http_request_duration_seconds_bucket{inf} {}", histogram.count);
        let _ = writeln!(out, "http_request_duration_seconds_sum{} {}", format_labels(labels, None), histogram.sum);
        let _ = writeln!(out, "http_request_duration_seconds_count{} {}", format_labels(labels, None), histogram.count);
    }
    for (kind, values) in [("counter", &registry.counters), ("gauge", &registry.gauges)] {
        let mut typed = None;
        for ((name, labels), value) in values {
            if typed != Some(name) {
                let _ = writeln!(out, "# TYPE {name} {kind}");
                typed = Some(name);
            }
            let _ = writeln!(out, "{name}{} {value}", format_labels(labels, None));
        }
    }
    out
}

fn format_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `OrdersCreated` -> `orders_created`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// How long a scraper may take to send a request's headers.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `GET /metrics` on `listener` until the task is dropped; any other path is a 404. Apart
/// from the API, so what the metrics say (money totals among them) reaches the scraper only.
pub async fn serve(listener: tokio::net::TcpListener) {
    use http_body_util::Full;
    use hyper::body::Bytes;

    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a metrics connection failed");
                continue;
            }
        };
        let service = hyper::service::service_fn(|request: hyper::Request<hyper::body::Incoming>| async move {
            let response = if request.uri().path() == "/metrics" {
                hyper::Response::builder()
                    .header("content-type", "text/plain; version=0.0.4")
                    .body(Full::new(Bytes::from(render())))
            } else {
                hyper::Response::builder().status(404).body(Full::new(Bytes::new()))
            };
            Ok::<_, std::convert::Infallible>(response.expect("a static response"))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// How long a push may take.
const PUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Pushes everything recorded to a Prometheus Pushgateway at `url` (in-cluster, plain HTTP) under
/// `job`: how a run-once process, the report's CronJob, hands its metrics to a Prometheus that
/// never scrapes it. A push replaces the job's previous one, so an alert on a pushed value holds
/// until the next run says otherwise.
pub async fn push(url: &str, job: &str) -> Result<(), String> {
    use http_body_util::Full;
    use hyper::body::Bytes;

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<Bytes>>(hyper_util::client::legacy::connect::HttpConnector::new());
    let uri = format!("{}/metrics/job/{job}", url.trim_end_matches('/'));
    let request = hyper::Request::put(&uri)
        .header("content-type", "text/plain; version=0.0.4")
        .body(Full::new(Bytes::from(render())))
        .map_err(|e| format!("{uri}: {e}"))?;
    let response = tokio::time::timeout(PUSH_TIMEOUT, client.request(request))
        .await
        .map_err(|_| format!("{uri}: no answer in {} s", PUSH_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{uri}: {e}"))?;
    match response.status() {
        status if status.is_success() => Ok(()),
        status => Err(format!("{uri} answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A Pushgateway's side of one push: the request it received, answered with `status`.
    async fn gateway(status: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0; 4096];
            // Headers, then as many body bytes as Content-Length says.
            loop {
                let n = stream.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                        .and_then(|l| l.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (url, received)
    }

    #[tokio::test]
    async fn a_push_puts_everything_recorded_under_the_jobs_group() {
        let metric = Metric::count("LedgerUnbalanced", 2);
        record_business(&metric, None);
        let (url, received) = gateway("200 OK").await;

        push(&format!("{url}/"), "platform-report").await.unwrap();

        let request = received.await.unwrap();
        assert!(request.starts_with("PUT /metrics/job/platform-report HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("content-type: text/plain; version=0.0.4"), "{request}");
        assert!(request.contains("\nplatform_ledger_unbalanced_total "), "{request}");
    }

    #[tokio::test]
    async fn a_refused_push_is_an_error() {
        let (url, _) = gateway("400 Bad Request").await;
        let error = push(&url, "platform-report").await.unwrap_err();
        assert!(error.contains("answered 400"), "{error}");
    }

    #[test]
    fn names_are_spelled_as_prometheus_spells_them() {
        assert_eq!(snake("OrdersCreated"), "orders_created");
        assert_eq!(snake("OldestPendingOrderAge"), "oldest_pending_order_age");
        let labels = vec![("route", "/a\"b".to_owned())];
        assert_eq!(format_labels(&labels, Some("0.5")), r#"{route="/a\"b",le="0.5"}"#);
    }
}
