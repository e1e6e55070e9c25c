//! No stranded orders: an event that could not reach the queue waits in its order's outbox until
//! the relay sends it.

use aws_sdk_dynamodb::types::AttributeValue;
use platform::domain::Timestamp;
use platform::events::EventPublisher;

use crate::helpers::{order_body, spawn_app};

#[tokio::test]
async fn an_order_created_while_the_queue_is_down_is_confirmed_once_the_relay_runs() {
    // Arrange: the API's publisher points at a queue that does not exist.
    let app = spawn_app().await;
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let request = app.request("POST", "/orders").json(&order_body());

    // Act 1: create while the queue is down.
    let response = orders_create::handle(&app.app.store, &down, &app.app.idempotency, request.into_lambda()).await;

    // Assert 1: the order exists, its event is kept, nothing reached the queue.
    assert_eq!(response.status(), 201);
    let order: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let id = order["orderId"].as_str().unwrap();
    assert!(app.raw_order(id).await.contains_key("outbox"));
    assert!(app.queued_events().await.is_empty());

    // Act 2: the relay runs later (past its grace period), then the processor.
    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&app.app.store, &app.app.events, later).await.unwrap();
    app.process_queue().await;

    // Assert 2
    assert_eq!(relayed.orders, 1);
    let stored = app.request("GET", &format!("/orders/{id}")).send().await.body;
    assert_eq!(stored["status"], "CONFIRMED");
    assert!(!app.raw_order(id).await.contains_key("outbox"));
}

#[tokio::test]
async fn the_relay_leaves_fresh_outboxes_to_their_writers() {
    let app = spawn_app().await;
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let request = app.request("POST", "/orders").json(&order_body());
    orders_create::handle(&app.app.store, &down, &app.app.idempotency, request.into_lambda()).await;

    let relayed = outbox_relay::handle(&app.app.store, &app.app.events, Timestamp::now()).await.unwrap();

    assert_eq!(relayed.orders, 0);
    assert!(app.queued_events().await.is_empty());
}

#[tokio::test]
async fn delivered_events_leave_nothing_for_the_relay() {
    let app = spawn_app().await;
    app.create_order("alice").await;

    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&app.app.store, &app.app.events, later).await.unwrap();

    assert_eq!(relayed.orders, 0);
}

#[tokio::test]
async fn a_poisoned_outbox_does_not_stop_the_relay_delivering_the_others() {
    // Arrange: two orders created while the queue was down; one outbox then holds garbage.
    let app = spawn_app().await;
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let mut ids = vec![];
    for _ in 0..2 {
        let request = app.request("POST", "/orders").json(&order_body());
        let response = orders_create::handle(&app.app.store, &down, &app.app.idempotency, request.into_lambda()).await;
        let order: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        ids.push(order["orderId"].as_str().unwrap().to_owned());
    }
    let garbage = AttributeValue::L(vec![AttributeValue::M([("type".into(), AttributeValue::N("7".into()))].into())]);
    app.force(&ids[0], "outbox", garbage).await;

    // Act
    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&app.app.store, &app.app.events, later).await.unwrap();

    // Assert: the healthy one went out; the poisoned one is kept for a person, and counted.
    assert_eq!((relayed.orders, relayed.failed), (1, 1));
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["orderId"], ids[1].as_str());
    assert!(app.raw_order(&ids[0]).await.contains_key("outbox"));
}
