//! Traces as they leave a function: the real `orders-get` binary under the Lambda Runtime API
//! emulator sends its spans over OTLP/HTTP to a receiver in this test process, which decodes them
//! with `opentelemetry-proto`'s OTLP/JSON mapping, as a collector would. The invocation's span has arrived by the time its answer has, so a
//! sandbox frozen right after answering loses nothing; it continues the caller's W3C trace, and
//! the access log line names the trace.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use crate::concurrency::binary;
use crate::helpers::{PROVIDER_KEY, TestApp, WEBHOOK_SECRET, spawn_app, spawn_app_with};
use aws_sdk_dynamodb::types::AttributeValue;
use local::otlp_receiver::OtlpReceiver;
use local::runtime_api::RuntimeApi;
use platform::domain::Timestamp;

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: Vec<(String, String)>,
    /// The spans it links to: (trace id, span id).
    links: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Every span the functions sent to `local`'s OTLP receiver, in order of arrival.
struct Receiver(OtlpReceiver);

impl Receiver {
    async fn start() -> Self {
        Self(OtlpReceiver::start().await.unwrap())
    }

    fn spans(&self) -> Vec<Received> {
        let text = |value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match value
            .as_ref()
            .and_then(|v| v.value.as_ref())
        {
            Some(Any::StringValue(s)) => s.clone(),
            Some(Any::IntValue(i)) => i.to_string(),
            Some(Any::BoolValue(b)) => b.to_string(),
            other => format!("{other:?}"),
        };
        let mut received = vec![];
        for export in self.0.exports() {
            assert_eq!((export.path.as_str(), export.content_type.as_str()), ("/v1/traces", "application/json"));
            // Read by the OpenTelemetry project's own OTLP/JSON mapping, as a collector reads it.
            let export: ExportTraceServiceRequest = serde_json::from_slice(&export.body).expect("an OTLP/JSON export");
            for resource_spans in export.resource_spans {
                let service = resource_spans
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .map(|a| text(&a.value))
                    .unwrap_or_default();
                for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                    received.push(Received {
                        service: service.clone(),
                        name: span.name,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: span.attributes.iter().map(|a| (a.key.clone(), text(&a.value))).collect(),
                        links: span.links.iter().map(|l| (hex(&l.trace_id), hex(&l.span_id))).collect(),
                    });
                }
            }
        }
        received
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A function's process as Lambda starts it, sending traces to `receiver`, with `env` besides the
/// resources' names; its log lines.
fn start(
    function: &str,
    (app, api, receiver): (&TestApp, &RuntimeApi, &Receiver),
    env: &[(&str, &str)],
) -> (tokio::process::Child, tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) {
    let mut command = tokio::process::Command::new(binary(function));
    command
        .env_clear()
        .envs(local::runtime_api::lambda_env(api.addr, function, 128))
        .env("AWS_REGION", "us-east-1")
        .env("ORDERS_TABLE", &app.resources.table)
        .env("ORDER_QUEUE_URL", &app.resources.queue_url)
        .envs(local::identity::function_env(function, &app.resources))
        .envs(env.iter().copied())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.0.endpoint())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    let mut child = command.spawn().expect("the function starts");
    let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Invokes a function started by [`start`] with `event`; its answer.
async fn invoke(api: &RuntimeApi, function: &mut tokio::process::Child, event: Value) -> Value {
    tokio::select! {
        answer = api.invoke(event) => answer.expect("the function answered"),
        exit = function.wait() => panic!("the function exited: {exit:?}"),
    }
}

fn event_path() -> Option<String> {
    let event: Value = serde_json::from_str(include_str!("../../events/orders-get.json")).unwrap();
    event["rawPath"].as_str().map(str::to_owned)
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The `traceparent` of a caller whose trace the platform's spans join.
const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn an_invocations_span_is_sent_before_its_answer_and_continues_the_callers_trace() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let api = RuntimeApi::start().await.unwrap();
    let (mut function, mut logs) = start("orders-get", (&app, &api, &receiver), &[]);
    let mut event: Value = serde_json::from_str(include_str!("../../events/orders-get.json")).unwrap();
    event["headers"]["traceparent"] = CALLER.into();

    let answer = invoke(&api, &mut function, event).await;

    // Read at once: nothing is waited for after the answer.
    let spans = receiver.spans();
    let status = answer["statusCode"].as_u64().unwrap().to_string();
    let request: Vec<&Received> = spans.iter().filter(|s| s.name == "request").collect();
    assert_eq!(request.len(), 1, "the invocation's span had not arrived with its answer: {spans:#?}");
    let span = request[0];
    assert_eq!(span.service, "orders-get");
    assert_eq!((span.trace_id.as_str(), span.parent_span_id.as_str()), (CALLER_TRACE, CALLER_SPAN));
    assert_eq!(span.attribute("method"), Some("GET"));
    assert_eq!(span.attribute("path"), event_path().as_deref());
    assert_eq!(span.attribute("status"), Some(status.as_str()));
    // The read it made is its child; the warm-up's read at init is a trace of its own.
    let reads: Vec<&Received> = spans.iter().filter(|s| s.name == "get").collect();
    assert_eq!(reads.len(), 2, "{spans:#?}");
    assert!(reads.iter().any(|r| r.trace_id == CALLER_TRACE && r.parent_span_id == span.span_id), "{reads:#?}");
    assert!(reads.iter().any(|r| r.trace_id != CALLER_TRACE && r.parent_span_id.is_empty()), "{reads:#?}");
    // Under the read, the SDK's span of the AWS call, named as OpenTelemetry names RPCs.
    let read = reads.iter().find(|r| r.trace_id == CALLER_TRACE).unwrap();
    let call: Vec<&Received> = spans.iter().filter(|s| s.parent_span_id == read.span_id).collect();
    assert_eq!(call.len(), 1, "{spans:#?}");
    assert_eq!(call[0].name, "DynamoDB.GetItem");
    assert_eq!(
        (call[0].attribute("rpc.service"), call[0].attribute("rpc.method")),
        (Some("DynamoDB"), Some("GetItem"))
    );

    // The access log line leads to the trace.
    let access = loop {
        let line = logs.next_line().await.unwrap().expect("the function logs its request");
        let Ok(line) = serde_json::from_str::<Value>(&line) else { continue };
        if line["fields"]["message"] == "request handled" {
            break line;
        }
    };
    assert_eq!(access["span"]["trace_id"], CALLER_TRACE, "{access}");
}

/// The one message on the test's queue, with its attributes.
async fn queued(app: &TestApp) -> aws_sdk_sqs::types::Message {
    let received = platform::aws::sqs(&app.sdk)
        .receive_message()
        .queue_url(&app.resources.queue_url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let mut messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    messages.remove(0)
}

/// The one span named `name` from `service`.
fn one<'s>(spans: &'s [Received], service: &str, name: &str) -> &'s Received {
    let found: Vec<&Received> = spans.iter().filter(|s| s.service == service && s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} span from {service}: {spans:#?}");
    found[0]
}

#[tokio::test]
async fn one_trace_follows_an_order_from_its_request_through_the_queue_to_its_decision_and_its_payment() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (creating, deciding, paying) =
        (RuntimeApi::start().await.unwrap(), RuntimeApi::start().await.unwrap(), RuntimeApi::start().await.unwrap());
    // (Their logs are kept open, unread: a closed stdout would fail the function's next line.)
    let (mut create, _create_logs) = start("orders-create", (&app, &creating, &receiver), &[]);
    let (mut processor, _processor_logs) = start("order-processor", (&app, &deciding, &receiver), &[]);
    let provider = [("PAYMENT_PROVIDER_URL", app.provider_url.as_str()), ("PAYMENT_PROVIDER_API_KEY", PROVIDER_KEY)];
    let (mut pay, _pay_logs) = start("payments-create", (&app, &paying, &receiver), &provider);

    // The client's checkout is one trace: it creates the order, then pays for it.
    let mut event: Value = serde_json::from_str(include_str!("../../events/orders-create.json")).unwrap();
    event["headers"]["traceparent"] = CALLER.into();
    let created = invoke(&creating, &mut create, event).await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let order: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let order_id = order["orderId"].as_str().unwrap().to_owned();

    // What Lambda's event source mapping hands the processor: the message with its attributes.
    let messages = vec![queued(&app).await];
    let batch = server::queue::sqs_event(&messages, &app.resources.queue_url);
    let answer = invoke(&deciding, &mut processor, serde_json::to_value(batch).unwrap()).await;
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{answer}");
    let stored = app.request("GET", &format!("/orders/{order_id}")).customer("alice").send().await;
    assert_eq!(stored.body["status"], "CONFIRMED", "{:?}", stored.body);

    let mut event: Value = serde_json::from_str(include_str!("../../events/payments-create.json")).unwrap();
    event["headers"]["traceparent"] = CALLER.into();
    let body =
        serde_json::json!({"orderId": order_id, "amount": order["total"], "currency": "USD", "source": "tok_visa"});
    event["body"] = body.to_string().into();
    let paid = invoke(&paying, &mut pay, event).await;
    assert_eq!(paid["statusCode"], 201, "{paid}");

    let spans = receiver.spans();
    // The order's request, in the client's trace, naming its route, status and order.
    let request = one(&spans, "orders-create", "request");
    assert_eq!((request.trace_id.as_str(), request.parent_span_id.as_str()), (CALLER_TRACE, CALLER_SPAN));
    assert_eq!(request.attribute("route"), Some("POST /orders"));
    assert_eq!(request.attribute("status"), Some("201"));
    assert_eq!(request.attribute("order_id"), Some(order_id.as_str()));
    // The event it queued, and the processor's span for that message, continuing it.
    let publish = one(&spans, "orders-create", "publish");
    assert_eq!((publish.trace_id.as_str(), publish.parent_span_id.as_str()), (CALLER_TRACE, request.span_id.as_str()));
    let send = one(&spans, "orders-create", "SQS.SendMessage");
    assert_eq!((send.trace_id.as_str(), send.parent_span_id.as_str()), (CALLER_TRACE, publish.span_id.as_str()));
    let message = one(&spans, "order-processor", "message");
    assert_eq!((message.trace_id.as_str(), message.parent_span_id.as_str()), (CALLER_TRACE, publish.span_id.as_str()));
    assert_eq!(message.attribute("order_id"), Some(order_id.as_str()));
    let decision = one(&spans, "order-processor", "decide");
    assert_eq!(
        (decision.trace_id.as_str(), decision.parent_span_id.as_str()),
        (CALLER_TRACE, message.span_id.as_str())
    );
    // The payment's request, and its call to the provider with the provider's answer.
    let payment = one(&spans, "payments-create", "request");
    assert_eq!((payment.trace_id.as_str(), payment.parent_span_id.as_str()), (CALLER_TRACE, CALLER_SPAN));
    assert_eq!(payment.attribute("order_id"), Some(order_id.as_str()));
    let charge = one(&spans, "payments-create", "provider");
    assert_eq!((charge.trace_id.as_str(), charge.parent_span_id.as_str()), (CALLER_TRACE, payment.span_id.as_str()));
    assert_eq!((charge.attribute("operation"), charge.attribute("answer")), (Some("charge"), Some("answered")));
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_is_settled_in_its_trace_and_the_providers_event_links_to_it() {
    // Webhooks off: the event is delivered below, to the real binary.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let receiver = Receiver::start().await;
    let (paying, reconciling, notified) =
        (RuntimeApi::start().await.unwrap(), RuntimeApi::start().await.unwrap(), RuntimeApi::start().await.unwrap());
    let provider = [("PAYMENT_PROVIDER_URL", app.provider_url.as_str()), ("PAYMENT_PROVIDER_API_KEY", PROVIDER_KEY)];
    let (mut pay, _pay_logs) = start("payments-create", (&app, &paying, &receiver), &provider);
    let (mut reconciler, _reconciler_logs) = start("payment-reconciler", (&app, &reconciling, &receiver), &provider);
    let webhook = [("PAYMENT_WEBHOOK_KEY", WEBHOOK_SECRET)];
    let (mut receive, _receive_logs) = start("payment-webhook", (&app, &notified, &receiver), &webhook);
    let order = app.confirmed_order("alice").await;

    // The provider takes the money but answers 500 (the emulator's `tok_providerError`): PENDING.
    let mut event: Value = serde_json::from_str(include_str!("../../events/payments-create.json")).unwrap();
    event["headers"]["traceparent"] = CALLER.into();
    let body = serde_json::json!({"orderId": order["orderId"], "amount": order["total"], "currency": "USD",
        "source": "tok_providerError"});
    event["body"] = body.to_string().into();
    let paid = invoke(&paying, &mut pay, event).await;
    let payment: Value = serde_json::from_str(paid["body"].as_str().unwrap()).unwrap();
    assert_eq!(payment["status"], "PENDING", "{paid}");
    let payment_id = payment["paymentId"].as_str().unwrap().to_owned();

    // Due for the reconciler now rather than in a minute.
    let due = platform::keys::pending_due(Timestamp::from_millis(Timestamp::now().millis() - 60_000), &payment_id);
    let key = platform::keys::payment(&platform::domain::PaymentId::parse("id", &payment_id).unwrap());
    app.force_item(key, platform::keys::GSI3.sk, AttributeValue::S(due)).await;
    let scheduled: Value = serde_json::from_str(include_str!("../../events/daily-report-scheduled.json")).unwrap();
    let run = invoke(&reconciling, &mut reconciler, scheduled).await;
    assert_eq!(run["settled"], 1, "the reconciler found the charge: {run}");

    // The provider's event that the money was taken (late: settled already), signed as it signs them.
    let captured = serde_json::json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_1", "object": "payment_intent", "latest_charge": "ch_1", "metadata": {"payment_id": payment_id}}}})
    .to_string();
    let mut event: Value = serde_json::from_str(include_str!("../../events/payment-webhook.json")).unwrap();
    let signature =
        local::provider_emulator::signature_header(WEBHOOK_SECRET, Timestamp::now().millis() as u64 / 1000, &captured);
    event["headers"]["stripe-signature"] = signature.into();
    event["headers"]["content-length"] = captured.len().to_string().into();
    event["body"] = captured.into();
    let answer = invoke(&notified, &mut receive, event).await;
    assert_eq!(answer["statusCode"], 200, "{answer}");

    let spans = receiver.spans();
    let request = one(&spans, "payments-create", "request");
    assert_eq!(request.trace_id, CALLER_TRACE);
    let ask = one(&spans, "payments-create", "provider");
    assert_eq!((ask.attribute("operation"), ask.attribute("answer")), (Some("charge"), Some("unanswered")));
    // The reconciler's look continues the payment's request, apart from its run's own trace.
    let run = one(&spans, "payment-reconciler", "run");
    let look = one(&spans, "payment-reconciler", "reconcile");
    assert_eq!((look.trace_id.as_str(), look.parent_span_id.as_str()), (CALLER_TRACE, request.span_id.as_str()));
    assert_ne!(run.trace_id, CALLER_TRACE);
    assert_eq!(look.attribute("payment_id"), Some(payment_id.as_str()));
    let again = one(&spans, "payment-reconciler", "provider");
    assert_eq!((again.trace_id.as_str(), again.parent_span_id.as_str()), (CALLER_TRACE, look.span_id.as_str()));
    assert_eq!(again.attribute("answer"), Some("answered"));
    // The provider's event is a trace of its own, linked to the payment's.
    let event = one(&spans, "payment-webhook", "request");
    assert_ne!(event.trace_id, CALLER_TRACE);
    assert_eq!(event.links, vec![(CALLER_TRACE.to_owned(), request.span_id.clone())], "{event:#?}");
    assert_eq!(event.attribute("order_id"), order["orderId"].as_str());
}

#[tokio::test]
async fn an_event_the_writer_could_not_send_is_relayed_in_the_trace_of_its_write() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (creating, relaying) = (RuntimeApi::start().await.unwrap(), RuntimeApi::start().await.unwrap());
    // The queue is unreachable for the writer: its event stays in the order's outbox.
    let unreachable = [("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:1")];
    let (mut create, _create_logs) = start("orders-create", (&app, &creating, &receiver), &unreachable);
    let (mut relay, _relay_logs) = start("outbox-relay", (&app, &relaying, &receiver), &[]);

    let mut event: Value = serde_json::from_str(include_str!("../../events/orders-create.json")).unwrap();
    event["headers"]["traceparent"] = CALLER.into();
    let created = invoke(&creating, &mut create, event).await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let order_id: String = serde_json::from_str::<Value>(created["body"].as_str().unwrap()).unwrap()["orderId"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = platform::domain::OrderId::parse("id", &order_id).unwrap();

    // Stranded past the relay's grace rather than 30 s from now.
    let since = Timestamp::from_millis(Timestamp::now().millis() - 60_000);
    let [_, (index_key, stranded_since)] = platform::keys::outbox_keys(&id, since);
    app.force(&order_id, index_key, AttributeValue::S(stranded_since)).await;
    let scheduled: Value = serde_json::from_str(include_str!("../../events/daily-report-scheduled.json")).unwrap();
    let run = invoke(&relaying, &mut relay, scheduled).await;
    assert_eq!(run["relayed"]["orders"], 1, "{run}");

    let spans = receiver.spans();
    // The write that left the event, in the client's trace; the relay sends it in that trace.
    let request = one(&spans, "orders-create", "request");
    assert_eq!(request.trace_id, CALLER_TRACE);
    let write = one(&spans, "orders-create", "create");
    assert_eq!(write.parent_span_id, request.span_id);
    let relayed = one(&spans, "outbox-relay", "relay");
    assert_eq!((relayed.trace_id.as_str(), relayed.parent_span_id.as_str()), (CALLER_TRACE, write.span_id.as_str()));
    assert_eq!(relayed.attribute("order_id"), Some(order_id.as_str()));
    let publish = one(&spans, "outbox-relay", "publish");
    assert_eq!((publish.trace_id.as_str(), publish.parent_span_id.as_str()), (CALLER_TRACE, relayed.span_id.as_str()));
    assert_ne!(one(&spans, "outbox-relay", "run").trace_id, CALLER_TRACE, "the run is a trace of its own");

    // The message carries the trace on, for the processor.
    let message = queued(&app).await;
    let traceparent = message.message_attributes.as_ref().and_then(|a| a.get("traceparent"));
    let traceparent = traceparent.and_then(|a| a.string_value()).expect("the message names its trace");
    assert_eq!(traceparent, format!("00-{CALLER_TRACE}-{}-01", publish.span_id));
}
