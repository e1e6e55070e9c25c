//! The order processor: reads the order queue in batches and decides each new or updated order,
//! moving it `PENDING -> CONFIRMED` or `-> REJECTED` by a write conditioned on the version it read,
//! so a stale message changes nothing and every version meets the same rules.
//!
//! Each message is parsed and processed on its own and concurrently, in a span that continues the
//! trace its `traceparent` attribute names (so a batch needs no span of its own, nor links to
//! mix traces); only the messages that failed are reported back, so SQS redelivers just those,
//! and parks them in the dead-letter queue after the queue's `maxReceiveCount`. Duplicates, late
//! deliveries and unknown event types succeed without changing anything.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use platform::domain::OrderRules;
use platform::events::{Event, EventType};
use platform::metrics::{self, Metric};
use platform::store::OrderStore;
use platform::telemetry::TRACEPARENT;
use serde::Deserialize;
use tracing::Instrument;

/// What the processor uses, built once per cold start.
#[derive(Debug, Clone)]
pub struct Processor {
    pub store: OrderStore,
    pub rules: OrderRules,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the message body is not an event")]
    Malformed(#[source] serde_json::Error),
    #[error(transparent)]
    Store(#[from] platform::Error),
}

/// Just enough of a message to know whether it is for us.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: EventType,
}

pub async fn handle(processor: &Processor, event: SqsEvent) -> SqsBatchResponse {
    let cold_start = platform::telemetry::cold_start();
    let outcomes = join_all(event.records.iter().map(|message| {
        let correlation_id = message.message_id.as_deref().unwrap_or_default();
        let span = tracing::info_span!(
            "message",
            correlation_id,
            cold_start,
            customer_id = tracing::field::Empty,
            order_id = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        // Each message's span continues the trace that queued it, so a batch of several orders
        // leaves each order's trace whole.
        let queued_by = message.message_attributes.get(TRACEPARENT).and_then(|a| a.string_value.as_deref());
        platform::telemetry::continues(&span, queued_by);
        process_message(processor, message).instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (message, outcome) in event.records.iter().zip(outcomes) {
        if let Err(failure) = outcome {
            let id = message.message_id.clone().unwrap_or_default();
            tracing::warn!(message_id = id, error = %failure, "message failed; SQS will redeliver it");
            response.add_failure(id);
        }
    }
    let failures = response.batch_item_failures.len() as i64;
    metrics::emit(
        &[
            Metric::count("MessagesProcessed", event.records.len() as i64 - failures),
            Metric::count("ProcessorFailures", failures),
        ],
        None,
        &[],
    );
    response
}

async fn process_message(processor: &Processor, message: &SqsMessage) -> Result<(), Failure> {
    let body = message.body.as_deref().unwrap_or_default();
    let Envelope { kind } = serde_json::from_str(body).map_err(Failure::Malformed)?;
    match kind {
        // Every version is decided: a new order, and one updated back to PENDING.
        EventType::OrderCreated | EventType::OrderUpdated => {
            decide(processor, &serde_json::from_str(body).map_err(Failure::Malformed)?).await
        }
        EventType::Unknown => {
            tracing::info!(message_id = message.message_id.as_deref(), "unknown event type acknowledged");
            Ok(())
        }
        // The rest need nothing from the processor.
        _ => Ok(()),
    }
}

/// Decides the order an event is about, if it still awaits a decision.
async fn decide(processor: &Processor, event: &Event) -> Result<(), Failure> {
    platform::order_decisions::decide(&processor.store, &processor.rules, &event.order_id).await?;
    Ok(())
}
