//! Queue events: what the API tells the rest of the platform, and the SQS publisher.

use std::collections::HashMap;

use aws_sdk_sqs::types::MessageAttributeValue;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Currency, CustomerId, OrderId, PaymentId, RefundId, Timestamp};
use crate::error::{Result, ResultExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    OrderCreated,
    OrderUpdated,
    OrderCancelled,
    PaymentCaptured,
    PaymentFailed,
    /// A refund succeeded: the money is back on the card.
    RefundIssued,
    RefundFailed,
    /// Any type this build does not know; consumers acknowledge and skip it.
    #[serde(other)]
    Unknown,
}

/// A message body on the order queue: `{type, orderId, customerId, occurredAt, ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique per event, so consumers can recognise a redelivery.
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub occurred_at: Timestamp,
    /// Money events: what moved, in the order's currency.
    #[serde(flatten)]
    pub money: Option<MoneyMoved>,
}

/// The payment (and refund) a money event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyMoved {
    pub payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub amount: i64,
    pub currency: Currency,
}

impl Event {
    /// The full event for an outbox entry of an order.
    pub fn new(order_id: OrderId, customer_id: &CustomerId, entry: &OutboxEntry) -> Self {
        Self {
            event_id: entry.event_id,
            kind: entry.kind,
            order_id,
            customer_id: customer_id.clone(),
            occurred_at: entry.occurred_at,
            money: entry.money.clone(),
        }
    }
}

/// An event waiting in its order's outbox. It is written in the same conditional write as the
/// change it announces, so a change is never made without its event; the order supplies the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub occurred_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<MoneyMoved>,
    /// The trace of the change, when traces are on: the relay sends a stranded event in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl OutboxEntry {
    /// An event of the change being made in the current span.
    pub fn new(kind: EventType, occurred_at: Timestamp) -> Self {
        let traceparent = crate::telemetry::traceparent();
        Self { event_id: Uuid::new_v4(), kind, occurred_at, money: None, traceparent }
    }

    /// A money event: `PAYMENT_CAPTURED`, `PAYMENT_FAILED`, `REFUND_ISSUED`, `REFUND_FAILED`.
    pub fn money(kind: EventType, occurred_at: Timestamp, money: MoneyMoved) -> Self {
        Self { money: Some(money), ..Self::new(kind, occurred_at) }
    }
}

/// Sends events to the order queue.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl EventPublisher {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self { sqs, queue_url: queue_url.into() }
    }

    /// Sends `event`, with the current span's trace context in the message's `traceparent`
    /// attribute, so the consumer's span continues the trace that made the event.
    #[tracing::instrument(skip_all, fields(event_id = %event.event_id, kind = ?event.kind))]
    pub async fn publish(&self, event: &Event) -> Result<()> {
        let body = serde_json::to_string(event).context("encoding an event")?;
        let trace = crate::telemetry::traceparent()
            .and_then(|traceparent| {
                MessageAttributeValue::builder().data_type("String").string_value(traceparent).build().ok()
            })
            .map(|value| HashMap::from([(crate::telemetry::TRACEPARENT.to_owned(), value)]));
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .set_message_attributes(trace)
            .send()
            .await
            .context("sending an event to the queue")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_use_the_contract_field_names_and_tolerate_unknown_types() {
        let json = serde_json::json!({
            "eventId": "6f1c0c44-3a55-4a59-8d7e-1f0c2b2f5a11",
            "type": "ORDER_CREATED",
            "orderId": "0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10",
            "customerId": "alice",
            "occurredAt": "2026-11-26T08:31:05.123Z"
        });
        let event: Event = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(event.kind, EventType::OrderCreated);
        assert_eq!(serde_json::to_value(&event).unwrap(), json);

        let captured = serde_json::json!({
            "eventId": "6f1c0c44-3a55-4a59-8d7e-1f0c2b2f5a11",
            "type": "PAYMENT_CAPTURED",
            "orderId": "0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10",
            "customerId": "alice",
            "occurredAt": "2026-11-26T08:31:05.123Z",
            "paymentId": "1c6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10",
            "amount": 2599,
            "currency": "USD"
        });
        let event: Event = serde_json::from_value(captured.clone()).unwrap();
        assert_eq!(event.money.as_ref().unwrap().amount, 2599);
        assert_eq!(serde_json::to_value(&event).unwrap(), captured);

        let mut future = json;
        future["type"] = "ORDER_SHIPPED".into();
        assert_eq!(serde_json::from_value::<Event>(future).unwrap().kind, EventType::Unknown);
    }
}
