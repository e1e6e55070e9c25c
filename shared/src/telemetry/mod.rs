//! Logs and traces shared by every function.
//!
//! In Lambda, logs are JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`): each line carries the runtime's span
//! with the Lambda `requestId` and X-Ray trace id, and ours with the `correlation_id` (the API
//! Gateway request id, or the SQS message id), the `cold_start` flag, the `customer_id` and
//! `order_id` once known, and the `trace_id` when traces are on. Headers, tokens and bodies are
//! never logged.
//!
//! Traces are OpenTelemetry spans sent over OTLP/HTTP ([`otlp`]) to `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), in AWS the collector beside the function; without
//! either variable there are none, and nothing of them runs. A Lambda sandbox is frozen once its
//! invocation is answered, so spans are not left to a background batch: they wait in the
//! process until [`flush`], which the function's serving loop awaits before it answers
//! (`platform::http::run`, `platform::lambda::serve`). Sampling follows `OTEL_TRACES_SAMPLER`.

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

mod otlp;

static COLD: AtomicBool = AtomicBool::new(true);

/// True for the first invocation this process serves.
pub fn cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Logs as the Lambda environment asks (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`, else
/// `RUST_LOG`, else INFO), and traces when an OTLP endpoint is configured.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder().with_default_directive(level.into()).from_env_lossy();
    let logs = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let logs = if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    // Each layer filters for itself: the traces take the SDK's span of each AWS call, which is
    // below the logs' level.
    tracing_subscriber::registry().with(logs.with_filter(filter)).with(traces_layer()).init();
}

/// What the traces record: our spans and events (INFO and above), and the SDK's span of each AWS
/// call (`DynamoDB.GetItem`, with its `rpc.service` and `rpc.method`), not its inner steps. Not
/// the Lambda runtime's span per invocation: the request's span is the root of the function's
/// part of a trace (or the child of the caller's).
fn traced_callsite(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    if target.starts_with("aws_sdk_") && meta.is_span() {
        return meta.fields().field("rpc.method").is_some();
    }
    !target.starts_with("lambda_runtime") && *meta.level() <= tracing::Level::INFO
}

/// Spans ended and not yet sent. Bounded: a process whose collector is gone drops spans rather
/// than grow.
const MOST_PENDING: usize = 4096;

#[derive(Debug, Default)]
struct Pending(Mutex<Vec<SpanData>>);

/// The processor the provider hands each ended span to: it only keeps it for [`flush`].
#[derive(Debug)]
struct Keep(&'static Pending);

impl SpanProcessor for Keep {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        let mut pending = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() < MOST_PENDING {
            pending.push(span);
        }
        if pending.len() == MOST_PENDING / 2 {
            FILLING.notify_one();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

struct Traces {
    pending: &'static Pending,
    exporter: otlp::Exporter,
    // Kept for the process's life: dropping it would end the tracer's spans unrecorded.
    _provider: SdkTracerProvider,
}

static TRACES: OnceLock<Traces> = OnceLock::new();

/// Whether spans are recorded and sent (an OTLP endpoint is configured).
pub fn tracing_on() -> bool {
    TRACES.get().is_some()
}

/// The layer that turns spans into OpenTelemetry spans ([`traced_callsite`]), when an endpoint
/// is configured.
fn traces_layer<S>() -> Option<impl Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name()).build();
    let exporter = otlp::Exporter::from_env(&resource)?;
    let pending: &'static Pending = Box::leak(Box::default());
    let provider = SdkTracerProvider::builder().with_resource(resource).with_span_processor(Keep(pending)).build();
    let tracer = provider.tracer("platform");
    let _ = TRACES.set(Traces { pending, exporter, _provider: provider });
    Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(filter_fn(traced_callsite)))
}

/// `OTEL_SERVICE_NAME`, else the function's name in Lambda, else the program's.
fn service_name() -> String {
    std::env::var("OTEL_SERVICE_NAME")
        .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
        .ok()
        .or_else(|| std::env::args().next().and_then(|p| p.rsplit('/').next().map(str::to_owned)))
        .unwrap_or_else(|| "platform".into())
}

/// Sends the spans ended so far and waits for the collector's answer. A collector that fails or
/// does not answer loses those spans, never the invocation: the failure is logged.
pub async fn flush() {
    let Some(traces) = TRACES.get() else { return };
    let batch = std::mem::take(&mut *traces.pending.0.lock().unwrap_or_else(|e| e.into_inner()));
    if batch.is_empty() {
        return;
    }
    if let Err(error) = traces.exporter.export(&batch).await {
        tracing::warn!(error, spans = batch.len(), "spans not exported");
    }
}

/// The W3C `traceparent` of the current span, for where a header cannot go: a queue message's
/// attributes, an outbox entry, a payment. `None` when traces are off.
pub fn traceparent() -> Option<String> {
    if !tracing_on() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The span of one scheduled run (the relay, the reconciler, the report): the root of its trace.
/// What it does for an order or a payment is done in that one's own trace, in spans of their own.
pub fn scheduled_run() -> tracing::Span {
    let span = tracing::info_span!("run", cold_start = cold_start(), trace_id = tracing::field::Empty);
    continues(&span, None);
    span
}

/// Names the order the current span's work is about (its `order_id`), so an order's traces can be
/// searched by its id.
pub fn about_order(id: &crate::domain::OrderId) {
    tracing::Span::current().record("order_id", tracing::field::display(id));
}

/// The attribute and header name of a W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` continue the trace `traceparent` names (the request that queued a message or left
/// an outbox entry, the payment a reconciliation settles), and names its trace in its logs.
pub fn continues(span: &tracing::Span, traceparent: Option<&str>) {
    if !tracing_on() {
        return;
    }
    if let Some(parent) = context_of(traceparent) {
        let _ = span.set_parent(parent);
    }
    span.record("trace_id", span.context().span().span_context().trace_id().to_string());
}

/// Links `span` to the trace `traceparent` names, without joining it: the provider's event about
/// a payment points at the payment's trace, as it is not a step of it.
pub fn links_to(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(other) = context_of(traceparent).filter(|_| tracing_on()) {
        span.add_link(other.span().span_context().clone());
    }
}

fn context_of(traceparent: Option<&str>) -> Option<opentelemetry::Context> {
    let carrier = std::collections::HashMap::from([(TRACEPARENT.to_owned(), traceparent?.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    context.span().span_context().is_valid().then_some(context)
}

/// Wakes [`flush_every`] early when spans pile up faster than its period sends them.
static FILLING: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// For a long-lived process (the container server), where no answer waits for [`flush`]: sends
/// the spans every `period`, and sooner when half the buffer is full. The process awaits [`flush`]
/// once more as it exits.
pub async fn flush_every(period: Duration) {
    if !tracing_on() {
        return;
    }
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = FILLING.notified() => {}
        }
        flush().await;
    }
}

/// Runs an HTTP handler's work inside the request's span, and logs one access line for it. The
/// span continues the caller's trace when the request carries a W3C `traceparent`.
pub async fn traced(req: &Request, work: impl Future<Output = Response<Body>>) -> Response<Body> {
    let (correlation_id, route) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (ctx.request_id.clone(), ctx.route_key.clone()),
        _ => (None, None),
    };
    let span = tracing::info_span!(
        "request",
        correlation_id = correlation_id.unwrap_or_default(),
        route = route.unwrap_or_default(),
        cold_start = cold_start(),
        method = %req.method(),
        path = req.uri().path(),
        customer_id = tracing::field::Empty,
        order_id = tracing::field::Empty,
        status = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    continues(&span, req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()));
    let response = work.instrument(span.clone()).await;
    if tracing_on() {
        span.record("status", response.status().as_u16());
    }
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request handled"));
    response
}
