//! The container worker told to stop (SIGTERM) with a batch in hand: it takes no new batch, lets
//! the batch finish within its grace, or hands its messages back for another consumer at once.

use std::time::Duration;

use server::queue::{Polled, Receive, Stopping, poll_until};

use crate::helpers::{TestApp, spawn_app};

/// A stop already asked for, with `grace` for the batch in hand.
fn stopping(grace: Duration) -> (tokio::sync::watch::Sender<bool>, Stopping) {
    let (sender, signal) = tokio::sync::watch::channel(true);
    (sender, Stopping { signal, grace })
}

async fn poll(app: &TestApp, stopping: &Stopping) -> Polled {
    let sqs = platform::aws::sqs(&app.sdk);
    let processor = &app.app.function("order-processor").processor;
    poll_until(&sqs, &app.resources.queue_url, processor, Receive::default(), stopping).await.unwrap()
}

#[tokio::test]
async fn a_batch_that_outlasts_the_grace_is_handed_back_at_once() {
    // Arrange: an order's event on the queue; the stop asked, no grace left.
    let app = spawn_app().await;
    app.create_order("alice").await;
    let (_sender, no_grace) = stopping(Duration::ZERO);

    // Act
    let polled = poll(&app, &no_grace).await;

    // Assert: handed back, so the next poll gets it at once (not after the visibility timeout).
    assert!(matches!(polled, Polled::HandedBack(1)), "{polled:?}");
    assert_eq!(app.process_queue().await.len(), 1, "visible again at once");
}

#[tokio::test]
async fn a_batch_within_the_grace_is_finished_and_its_messages_deleted() {
    let app = spawn_app().await;
    let created = app.create_order("alice").await;
    let (_sender, graceful) = stopping(Duration::from_secs(10));

    let polled = poll(&app, &graceful).await;

    assert!(matches!(&polled, Polled::Processed(response) if response.batch_item_failures.is_empty()), "{polled:?}");
    assert!(app.process_queue().await.is_empty(), "deleted: nothing left");
    let id = created["orderId"].as_str().unwrap();
    let order = app.request("GET", &format!("/orders/{id}")).send().await;
    assert_eq!(order.body["status"], "CONFIRMED");
}

#[tokio::test]
async fn the_consumer_takes_no_new_batch_once_asked_to_stop() {
    // Arrange: a consumer polling an empty queue.
    let app = spawn_app().await;
    let (sender, signal) = tokio::sync::watch::channel(false);
    let stopping = Stopping { signal, grace: Duration::from_secs(5) };
    let receive = Receive { wait_seconds: 1, ..Receive::default() };
    let sqs = platform::aws::sqs(&app.sdk);
    let processor = app.app.function("order-processor").processor.clone();
    let consumer =
        tokio::spawn(server::queue::consume(sqs, app.resources.queue_url.clone(), processor, receive, stopping));

    // Act: stop it, then put work on the queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sender.send(true).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), consumer).await;
    app.create_order("alice").await;

    // Assert: it ended after its poll in flight, and left the new message alone.
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    assert_eq!(app.queued_events().await.len(), 1);
}
