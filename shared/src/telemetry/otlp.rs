//! The span exporter: OTLP over HTTP with the protocol's JSON encoding, to
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. Written
//! here, one request type over the platform's HTTP client ([`crate::https`]), rather than taken
//! from `opentelemetry-otlp`, whose protobuf and gRPC stack added about 0.25 MB to every
//! deployment zip (docs/performance.md, "Traces on and off"). Every OTLP collector, the ADOT
//! Lambda layer's included, takes JSON on its HTTP receiver.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Value as Json, json};

/// How long an export may hold an answer when the collector does not answer (the protocol's
/// default is 10 s, too long to add to an invocation): `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or
/// `OTEL_EXPORTER_OTLP_TIMEOUT`, in milliseconds, else this.
const TIMEOUT: Duration = Duration::from_secs(1);

pub(super) struct Exporter {
    http: crate::https::Client,
    url: String,
    timeout: Duration,
    resource: Json,
}

impl Exporter {
    /// The exporter the environment configures, if it names an endpoint.
    pub(super) fn from_env(resource: &Resource) -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let url = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        let timeout = var("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|ms| ms.parse().ok())
            .map_or(TIMEOUT, Duration::from_millis);
        let http = crate::https::client();
        let resource =
            json!({ "attributes": resource.iter().map(|(k, v)| attribute(k.as_str(), v)).collect::<Vec<_>>() });
        Some(Self { http, url, timeout, resource })
    }

    /// Sends `spans` in one request and waits for the collector's answer.
    pub(super) async fn export(&self, spans: &[SpanData]) -> Result<(), String> {
        let body = serde_json::to_vec(&request(&self.resource, spans)).map_err(|e| e.to_string())?;
        let request = hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            // Read to the end, so the connection is kept for the next export.
            let _ = response.into_body().collect().await;
            if status.is_success() { Ok(()) } else { Err(format!("the collector answered {status}")) }
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| "the collector did not answer".to_owned())?
    }
}

/// An `ExportTraceServiceRequest`, as OTLP/JSON writes it: ids in hex, 64-bit integers as strings.
fn request(resource: &Json, spans: &[SpanData]) -> Json {
    let spans: Vec<Json> = spans.iter().map(span).collect();
    json!({ "resourceSpans": [{
        "resource": resource,
        "scopeSpans": [{ "scope": { "name": "platform" }, "spans": spans }],
    }]})
}

fn span(span: &SpanData) -> Json {
    let context = &span.span_context;
    let (code, message) = match &span.status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description.as_ref()),
    };
    json!({
        "traceId": context.trace_id().to_string(),
        "spanId": context.span_id().to_string(),
        "parentSpanId": if span.parent_span_id == SpanId::INVALID { String::new() } else { span.parent_span_id.to_string() },
        "name": span.name,
        "kind": match span.span_kind {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        },
        "startTimeUnixNano": nanos(span.start_time),
        "endTimeUnixNano": nanos(span.end_time),
        "attributes": attributes(&span.attributes),
        "events": span.events.iter().map(|e| json!({
            "timeUnixNano": nanos(e.timestamp),
            "name": e.name,
            "attributes": attributes(&e.attributes),
        })).collect::<Vec<_>>(),
        "links": span.links.iter().map(|l| json!({
            "traceId": l.span_context.trace_id().to_string(),
            "spanId": l.span_context.span_id().to_string(),
            "attributes": attributes(&l.attributes),
        })).collect::<Vec<_>>(),
        "status": { "code": code, "message": message },
    })
}

fn nanos(time: SystemTime) -> String {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos().to_string()
}

fn attributes(attributes: &[KeyValue]) -> Vec<Json> {
    attributes.iter().map(|kv| attribute(kv.key.as_str(), &kv.value)).collect()
}

fn attribute(key: &str, value: &Value) -> Json {
    json!({ "key": key, "value": any(value) })
}

/// An `AnyValue`.
fn any(value: &Value) -> Json {
    let array = |values: Vec<Json>| json!({ "arrayValue": { "values": values } });
    match value {
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::I64(i) => json!({ "intValue": i.to_string() }),
        Value::F64(f) => json!({ "doubleValue": f }),
        Value::String(s) => json!({ "stringValue": s.as_str() }),
        Value::Array(Array::Bool(values)) => array(values.iter().map(|b| json!({ "boolValue": b })).collect()),
        Value::Array(Array::I64(values)) => {
            array(values.iter().map(|i| json!({ "intValue": i.to_string() })).collect())
        }
        Value::Array(Array::F64(values)) => array(values.iter().map(|f| json!({ "doubleValue": f })).collect()),
        Value::Array(Array::String(values)) => {
            array(values.iter().map(|s| json!({ "stringValue": s.as_str() })).collect())
        }
        other => json!({ "stringValue": other.to_string() }),
    }
}
