//! What Lambda's SQS event source mapping does, for the local platform and the tests: receive a
//! batch, hand it to the processor as an `SqsEvent` (message attributes too: the trace context),
//! delete what succeeded, and leave the reported failures to reappear after their visibility
//! timeout (and, past the queue's `maxReceiveCount`, to be moved to the dead-letter queue by SQS
//! itself). A batch that takes long has its messages' visibility extended while it runs, so no
//! other consumer gets them meanwhile. Told to stop, the consumer takes no new batch, gives the
//! batch in hand its grace to finish, and otherwise hands its messages back (visibility 0) for
//! another consumer at once; processing a message twice is safe (the processor's writes are
//! conditional).

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName};
use order_processor::Processor;
use serde_json::json;

/// The event Lambda would deliver for these messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<_> = messages
        .iter()
        .map(|m| {
            let attributes = m.attributes.as_ref().map(|a| {
                a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect::<std::collections::BTreeMap<_, _>>()
            });
            let message_attributes: serde_json::Map<_, _> = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, value)| {
                    let value = json!({
                        "stringValue": value.string_value,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.data_type,
                    });
                    (name.clone(), value)
                })
                .collect();
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "md5OfBody": m.md5_of_body,
                "attributes": attributes.unwrap_or_default(),
                "messageAttributes": message_attributes,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}

/// How to receive a batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Receive {
    /// Long polling: how long to wait for a message.
    pub wait_seconds: i32,
    /// Overrides the queue's visibility timeout (tests use 0 to see redeliveries at once).
    pub visibility_timeout: Option<i32>,
    pub extension: Extension,
}

/// How a batch still being processed keeps its messages invisible.
#[derive(Debug, Clone, Copy)]
pub struct Extension {
    /// How often the visibility is extended.
    pub every: Duration,
    /// To how many seconds from then (the queue's own visibility timeout in `template.yaml`).
    pub to_seconds: i32,
}

impl Default for Extension {
    fn default() -> Self {
        Self { every: Duration::from_secs(30), to_seconds: 180 }
    }
}

/// Runs `work` on `messages`, extending their visibility every `extension.every` until it ends.
pub async fn while_extending<T>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[Message],
    extension: Extension,
    work: impl Future<Output = T>,
) -> T {
    let entries: Vec<_> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle()?)
                .visibility_timeout(extension.to_seconds)
                .build()
                .ok()
        })
        .collect();
    let extend = async {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + extension.every, extension.every);
        loop {
            ticks.tick().await;
            let sent = sqs
                .change_message_visibility_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await;
            if let Err(error) = sent {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "extending a slow batch's visibility failed");
            }
        }
    };
    tokio::select! {
        done = work => done,
        never = extend => never,
    }
}

/// When a consumer stops: once `signal` holds `true` it takes no new batch, and the batch in hand
/// has `grace` to finish before its messages are handed back.
#[derive(Debug, Clone)]
pub struct Stopping {
    pub signal: tokio::sync::watch::Receiver<bool>,
    pub grace: Duration,
}

impl Stopping {
    /// A consumer that runs until its task is dropped.
    pub fn never() -> Self {
        let (_, signal) = tokio::sync::watch::channel(false);
        Self { signal, grace: Duration::ZERO }
    }

    fn asked(&self) -> bool {
        *self.signal.borrow()
    }

    /// Resolves once the stop is asked for and its grace has passed.
    async fn grace_over(&self) {
        let mut signal = self.signal.clone();
        if signal.wait_for(|stop| *stop).await.is_err() {
            // The sender is gone without asking: never.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.grace).await;
    }
}

/// What became of one poll.
#[derive(Debug)]
pub enum Polled {
    /// No message came.
    Empty,
    /// The batch was processed: its response (the reported failures were left to reappear).
    Processed(SqsBatchResponse),
    /// Stopping, the batch did not finish within the grace: its messages were handed back.
    HandedBack(usize),
}

/// Receives one batch, runs the processor on it, and deletes the messages it did not report as
/// failed. Returns the batch's response, or `None` when no message came.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    processor: &Processor,
    receive: Receive,
) -> Result<Option<SqsBatchResponse>, aws_sdk_sqs::Error> {
    Ok(match poll_until(sqs, queue_url, processor, receive, &Stopping::never()).await? {
        Polled::Processed(response) => Some(response),
        Polled::Empty | Polled::HandedBack(_) => None,
    })
}

/// [`poll_once`], handing the batch back if `stopping`'s grace ends before the batch does.
pub async fn poll_until(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    processor: &Processor,
    receive: Receive,
    stopping: &Stopping,
) -> Result<Polled, aws_sdk_sqs::Error> {
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(receive.wait_seconds)
        .set_visibility_timeout(receive.visibility_timeout)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await?;
    let messages = output.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(Polled::Empty);
    }
    let work = order_processor::handle(processor, sqs_event(&messages, queue_url));
    let response = tokio::select! {
        response = while_extending(sqs, queue_url, &messages, receive.extension, work) => response,
        () = stopping.grace_over() => {
            hand_back(sqs, queue_url, &messages).await?;
            return Ok(Polled::HandedBack(messages.len()));
        }
    };
    for message in &messages {
        let failed =
            response.batch_item_failures.iter().any(|f| Some(&f.item_identifier) == message.message_id.as_ref());
        if !failed {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await?;
        }
    }
    Ok(Polled::Processed(response))
}

/// Makes `messages` visible again at once, for another consumer.
async fn hand_back(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[Message]) -> Result<(), aws_sdk_sqs::Error> {
    let entries = messages.iter().enumerate().filter_map(|(i, m)| {
        let handle = m.receipt_handle()?;
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id(i.to_string())
            .receipt_handle(handle)
            .visibility_timeout(0)
            .build()
            .ok()
    });
    sqs.change_message_visibility_batch().queue_url(queue_url).set_entries(Some(entries.collect())).send().await?;
    tracing::info!(messages = messages.len(), "stopping: a batch that did not finish in its grace was handed back");
    Ok(())
}

/// Consumes the queue until `stopping` asks it to stop (see [`Stopping`]), like Lambda's event
/// source mapping: long polls (`receive.wait_seconds`, up to SQS's 20), partial-batch failures,
/// redelivery after the visibility timeout.
pub async fn consume(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    processor: Processor,
    receive: Receive,
    stopping: Stopping,
) {
    while !stopping.asked() {
        if let Err(error) = poll_until(&sqs, &queue_url, &processor, receive, &stopping).await {
            tracing::warn!(error = %error, "polling the order queue failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    tracing::info!("the queue consumer stopped");
}
