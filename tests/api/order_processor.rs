use aws_lambda_events::sqs::SqsEvent;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// An SQS event of one message per body, with ids `m0`, `m1`, ...
fn batch(bodies: &[String]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("m{i}"), "receiptHandle": format!("r{i}"), "body": body, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn created(order: &Value) -> String {
    json!({
        "eventId": uuid::Uuid::new_v4(), "type": "ORDER_CREATED", "orderId": order["orderId"],
        "customerId": order["customerId"], "occurredAt": order["createdAt"]
    })
    .to_string()
}

async fn order(app: &TestApp, id: &Value) -> Value {
    app.request("GET", &format!("/orders/{}", id.as_str().unwrap())).admin().send().await.body
}

fn failed(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<&str> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

#[tokio::test]
async fn a_batch_with_two_poison_messages_reports_exactly_those_and_applies_the_rest() {
    // Arrange: 8 new orders, and 2 messages that can never be processed.
    let app = spawn_app().await;
    let mut orders = vec![];
    for _ in 0..8 {
        orders.push(app.create_order("alice").await);
    }
    let mut bodies: Vec<String> = orders.iter().map(created).collect();
    bodies.insert(3, "{not json".into());
    bodies.insert(7, json!({"type": "ORDER_CREATED", "customerId": "alice"}).to_string());

    // Act
    let response = order_processor::handle(&app.app.function("order-processor").processor, batch(&bodies)).await;

    // Assert
    assert_eq!(failed(&response), ["m3", "m7"]);
    for o in &orders {
        assert_eq!(order(&app, &o["orderId"]).await["status"], "CONFIRMED");
    }
}

#[tokio::test]
async fn the_same_order_created_five_times_at_once_makes_one_transition() {
    let app = spawn_app().await;
    let o = app.create_order("alice").await;
    let body = created(&o);

    let responses = join_all((0..5).map(|_| {
        order_processor::handle(&app.app.function("order-processor").processor, batch(std::slice::from_ref(&body)))
    }))
    .await;

    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()));
    let stored = order(&app, &o["orderId"]).await;
    assert_eq!((stored["status"].clone(), stored["version"].clone()), (json!("CONFIRMED"), json!(2)));
}

#[tokio::test]
async fn an_order_created_event_for_a_cancelled_order_is_acknowledged_and_changes_nothing() {
    let app = spawn_app().await;
    let o = app.create_order("alice").await;
    let cancelled = app.request("DELETE", &format!("/orders/{}", o["orderId"].as_str().unwrap())).send().await.body;

    let response = order_processor::handle(&app.app.function("order-processor").processor, batch(&[created(&o)])).await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(order(&app, &o["orderId"]).await, cancelled);
}

#[tokio::test]
async fn unknown_event_types_and_other_events_are_acknowledged() {
    let app = spawn_app().await;
    let o = app.create_order("alice").await;
    let shipped = json!({"type": "ORDER_SHIPPED", "carrier": "ups"}).to_string();
    let mut cancelled: Value = serde_json::from_str(&created(&o)).unwrap();
    cancelled["type"] = json!("ORDER_CANCELLED");

    let response = order_processor::handle(
        &app.app.function("order-processor").processor,
        batch(&[shipped, cancelled.to_string()]),
    )
    .await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(order(&app, &o["orderId"]).await["status"], "PENDING");
}

#[tokio::test]
async fn orders_that_break_a_business_rule_are_rejected_with_a_reason() {
    let app = spawn_app().await;
    let processor = order_processor::Processor {
        store: app.app.function("order-processor").store.clone(),
        rules: platform::domain::OrderRules::new("SKU-2", None),
    };
    let o = app.create_order("alice").await;

    let response = order_processor::handle(&processor, batch(&[created(&o)])).await;

    assert!(response.batch_item_failures.is_empty());
    let stored = order(&app, &o["orderId"]).await;
    assert_eq!(stored["status"], "REJECTED");
    assert_eq!(stored["rejectionReason"], "item SKU-2 is not available");
}

#[tokio::test]
async fn an_order_created_through_the_api_is_confirmed_from_the_real_queue() {
    // Arrange
    let app = spawn_app().await;
    let o = app.create_order("alice").await;

    // Act
    let responses = app.process_queue().await;

    // Assert
    assert_eq!(responses.len(), 1);
    assert!(responses[0].batch_item_failures.is_empty());
    assert_eq!(order(&app, &o["orderId"]).await["status"], "CONFIRMED");
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_parked_in_the_dead_letter_queue() {
    // Arrange: a poison message on the real queue, whose redrive policy came from template.yaml.
    let app = spawn_app().await;
    let sqs = platform::aws::sqs(&app.sdk);
    sqs.send_message().queue_url(&app.resources.queue_url).message_body("{poison").send().await.unwrap();
    let receive = server::queue::Receive { wait_seconds: 0, visibility_timeout: Some(0), ..Default::default() };

    // Act: every delivery fails, and is seen again at once.
    let mut deliveries = 0;
    while let Some(response) = server::queue::poll_once(
        &sqs,
        &app.resources.queue_url,
        &app.app.function("order-processor").processor,
        receive,
    )
    .await
    .unwrap()
    {
        assert_eq!(response.batch_item_failures.len(), 1);
        deliveries += 1;
        assert!(deliveries <= 10, "the message was never redriven");
    }

    // Assert
    assert_eq!(deliveries, 5, "maxReceiveCount in template.yaml");
    let parked = sqs.receive_message().queue_url(&app.resources.dead_letter_queue_url).send().await.unwrap();
    let parked = parked.messages.unwrap_or_default();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].body(), Some("{poison"));
}

#[tokio::test]
async fn the_event_fixture_batch_fails_only_its_malformed_message() {
    let app = spawn_app().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/process-order-events.json");
    let event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();

    let response = order_processor::handle(&app.app.function("order-processor").processor, event).await;

    assert_eq!(failed(&response), ["5d0c1f6e-0005-4c4e-9a51-malformed0005"]);
}

#[tokio::test]
async fn an_update_of_a_confirmed_order_is_decided_again_and_a_zero_total_ends_rejected() {
    // Arrange: a confirmed order, as the processor left it.
    let app = spawn_app().await;
    let created = app.create_order("alice").await;
    let id = created["orderId"].as_str().unwrap();
    app.process_queue().await;
    assert_eq!(order(&app, &created["orderId"]).await["status"], "CONFIRMED");

    // Act: update it to a total of zero, then let the processor read the queue.
    let free = json!({"currency": "USD", "items": [{"sku": "FREE", "quantity": 1, "unitPrice": 0}]});
    let updated = app.request("PUT", &format!("/orders/{id}")).json(&free).send().await;
    let unpaid = app.pay("alice", id, 100).await;
    app.process_queue().await;

    // Assert
    assert_eq!((updated.status, updated.body["status"].as_str()), (200, Some("PENDING")), "{updated:?}");
    assert_eq!(unpaid.status, 409, "a PENDING order cannot be paid: {unpaid:?}");
    let decided = order(&app, &created["orderId"]).await;
    assert_eq!(
        (decided["status"].as_str(), decided["rejectionReason"].as_str()),
        (Some("REJECTED"), Some("the order total is zero"))
    );
}

#[tokio::test]
async fn a_stale_event_of_an_earlier_version_decides_nothing_twice() {
    let app = spawn_app().await;
    let new_order = app.create_order("alice").await;
    app.process_queue().await;
    let confirmed = order(&app, &new_order["orderId"]).await;

    let replies = order_processor::handle(
        &app.app.function("order-processor").processor,
        batch(&[created(&new_order), created(&new_order)]),
    )
    .await;

    assert!(failed(&replies).is_empty());
    assert_eq!(order(&app, &new_order["orderId"]).await, confirmed, "an old ORDER_CREATED changes nothing");
}

#[tokio::test]
async fn an_order_whose_created_event_was_dead_lettered_is_decided_by_the_sweeper() {
    // Arrange: an order whose ORDER_CREATED left the queue undecided (parked after its receives).
    let app = spawn_app().await;
    let created = app.create_order("alice").await;
    let lost = app.queued_events().await;
    assert_eq!(lost.len(), 1, "its only event is gone from the queue");
    let rules = platform::domain::OrderRules::default();
    let now = platform::domain::Timestamp::now();

    // Act: the sweep too early changes nothing; past the threshold it decides the order.
    let early = platform::order_decisions::sweep(&app.app.function("outbox-relay").store, &rules, now).await.unwrap();
    let later =
        platform::domain::Timestamp::from_millis(now.millis() + platform::order_decisions::SWEEP_AFTER_MILLIS + 1000);
    let swept = outbox_relay::run(
        &app.app.function("outbox-relay").store,
        &app.app.function("outbox-relay").events,
        &rules,
        later,
    )
    .await
    .unwrap()
    .swept;
    let again = platform::order_decisions::sweep(&app.app.function("outbox-relay").store, &rules, later).await.unwrap();

    // Assert
    assert_eq!((early.decided, swept.decided, again.decided), (0, 1, 0));
    assert_eq!(order(&app, &created["orderId"]).await["status"], "CONFIRMED");
    assert_eq!(swept.oldest_pending_seconds, 0, "nothing is left waiting");
}

/// Receives what the test's queue holds now, making it invisible for `seconds`.
async fn receive(app: &crate::helpers::TestApp, seconds: i32) -> Vec<aws_sdk_sqs::types::Message> {
    let sqs = platform::aws::sqs(&app.sdk);
    let output = sqs
        .receive_message()
        .queue_url(&app.resources.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(seconds)
        .send()
        .await
        .unwrap();
    output.messages.unwrap_or_default()
}

/// Another consumer polling the queue every 400 ms for 2.4 s: what it got.
async fn other_consumer(app: &crate::helpers::TestApp) -> usize {
    let mut seen = 0;
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        seen += receive(app, 0).await.len();
    }
    seen
}

#[tokio::test]
async fn a_slow_batch_keeps_its_messages_from_other_consumers_until_it_is_done() {
    // Arrange: one message, taken with a 2 s visibility timeout, and 2.5 s of work on it.
    use std::time::Duration;
    let app = spawn_app().await;
    let sqs = platform::aws::sqs(&app.sdk);
    sqs.send_message().queue_url(&app.resources.queue_url).message_body("slow").send().await.unwrap();
    let taken = receive(&app, 2).await;
    assert_eq!(taken.len(), 1);
    // Extended to 4 s every 300 ms: margins of 1.7 s for the first extension call and 3.7 s for
    // each next one, on a machine loaded by the other lanes (SQS on moto answers slowly then).
    let extension = server::queue::Extension { every: Duration::from_millis(300), to_seconds: 4 };
    let work = tokio::time::sleep(Duration::from_millis(2500));

    // Act
    let extended = server::queue::while_extending(&sqs, &app.resources.queue_url, &taken, extension, work);
    let ((), seen) = tokio::join!(extended, other_consumer(&app));

    // Assert: nobody else got it while it was worked on; not deleted, it comes back once the last
    // extension has run out.
    assert_eq!(seen, 0, "another consumer got a message still being processed");
    tokio::time::sleep(Duration::from_millis(5000)).await;
    let back = receive(&app, 1).await;
    assert_eq!(back.len(), 1);

    // The control: the same work without the extension lets it go to the other consumer.
    let ((), seen) = tokio::join!(tokio::time::sleep(Duration::from_millis(2500)), other_consumer(&app));
    assert!(seen >= 1, "unextended, it is visible again after 1 s");
}
