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
    let create = app.app.function("orders-create");
    let relay = app.app.function("outbox-relay");
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let request = app.request("POST", "/orders").json(&order_body());

    // Act 1: create while the queue is down.
    let response = orders_create::handle(&create.store, &down, &create.idempotency, request.into_lambda()).await;

    // Assert 1: the order exists, its event is kept, nothing reached the queue.
    assert_eq!(response.status(), 201);
    let order: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let id = order["orderId"].as_str().unwrap();
    assert!(app.raw_order(id).await.contains_key("outbox"));
    assert!(app.queued_events().await.is_empty());

    // Act 2: the relay runs later (past its grace period), then the processor.
    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&relay.store, &relay.events, later).await.unwrap();
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
    let create = app.app.function("orders-create");
    let relay = app.app.function("outbox-relay");
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let request = app.request("POST", "/orders").json(&order_body());
    orders_create::handle(&create.store, &down, &create.idempotency, request.into_lambda()).await;

    let relayed = outbox_relay::handle(&relay.store, &relay.events, Timestamp::now()).await.unwrap();

    assert_eq!(relayed.orders, 0);
    assert!(app.queued_events().await.is_empty());
}

#[tokio::test]
async fn delivered_events_leave_nothing_for_the_relay() {
    let app = spawn_app().await;
    let relay = app.app.function("outbox-relay");
    app.create_order("alice").await;

    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&relay.store, &relay.events, later).await.unwrap();

    assert_eq!(relayed.orders, 0);
}

#[tokio::test]
async fn a_poisoned_outbox_does_not_stop_the_relay_delivering_the_others() {
    // Arrange: two orders created while the queue was down; one outbox then holds garbage.
    let app = spawn_app().await;
    let create = app.app.function("orders-create");
    let relay = app.app.function("outbox-relay");
    let down = EventPublisher::new(platform::aws::sqs(&app.sdk), format!("{}-down", app.resources.queue_url));
    let mut ids = vec![];
    for _ in 0..2 {
        let request = app.request("POST", "/orders").json(&order_body());
        let response = orders_create::handle(&create.store, &down, &create.idempotency, request.into_lambda()).await;
        let order: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        ids.push(order["orderId"].as_str().unwrap().to_owned());
    }
    let garbage = AttributeValue::L(vec![AttributeValue::M([("type".into(), AttributeValue::N("7".into()))].into())]);
    app.force(&ids[0], "outbox", garbage).await;

    // Act
    let later = Timestamp::from_millis(Timestamp::now().millis() + outbox_relay::GRACE_MILLIS + 1000);
    let relayed = outbox_relay::handle(&relay.store, &relay.events, later).await.unwrap();

    // Assert: the healthy one went out; the poisoned one is kept for a person, and counted.
    assert_eq!((relayed.orders, relayed.failed), (1, 1));
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["orderId"], ids[1].as_str());
    assert!(app.raw_order(&ids[0]).await.contains_key("outbox"));
}

#[tokio::test]
async fn a_stalled_queue_does_not_turn_a_committed_create_into_a_server_error() {
    // Arrange: a queue endpoint that accepts connections and never answers.
    let app = spawn_app().await;
    let create = app.app.function("orders-create");
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", stalled.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((socket, _)) = stalled.accept().await {
            held.push(socket);
        }
    });
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&app.sdk).endpoint_url(&address).build());
    let publisher = EventPublisher::new(sqs, format!("{address}/123456789012/stalled"));
    let request = app.request("POST", "/orders").json(&order_body());

    // Act
    let started = std::time::Instant::now();
    let response = orders_create::handle(&create.store, &publisher, &create.idempotency, request.into_lambda()).await;

    // Assert: answered in time, created, and the event kept for the relay.
    assert_eq!(response.status(), 201);
    assert!(started.elapsed() < platform::outbox::DELIVERY_BUDGET + std::time::Duration::from_secs(1));
    let order: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert!(app.raw_order(order["orderId"].as_str().unwrap()).await.contains_key("outbox"));
}
