use aws_sdk_dynamodb::types::AttributeValue;

use crate::helpers::spawn_app;

#[tokio::test]
async fn cancel_order_cancels_and_queues_order_cancelled() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.queued_events().await;

    let reply = app.request("DELETE", &format!("/orders/{id}")).send().await;

    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "CANCELLED");
    assert_eq!(reply.body["version"], 2);
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ORDER_CANCELLED");
}

#[tokio::test]
async fn cancelling_a_cancelled_order_returns_it_again_without_another_event() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let first = app.request("DELETE", &format!("/orders/{id}")).send().await;
    app.queued_events().await;

    let second = app.request("DELETE", &format!("/orders/{id}")).send().await;

    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert!(app.queued_events().await.is_empty());
}

#[tokio::test]
async fn cancel_order_is_refused_once_paid() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.force(&id, "status", AttributeValue::S("PAID".into())).await;
    app.force(&id, "paid", AttributeValue::N("2599".into())).await;

    let reply = app.request("DELETE", &format!("/orders/{id}")).send().await;

    assert_eq!(reply.status, 409);
    assert_eq!(reply.error_code(), "CONFLICT");
    let stored = app.request("GET", &format!("/orders/{id}")).send().await;
    assert_eq!(stored.body["status"], "PAID");
}

#[tokio::test]
async fn cancel_order_of_another_customer_is_not_found_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.create_order("bob").await["orderId"].as_str().unwrap().to_owned();

    let reply = app.request("DELETE", &format!("/orders/{id}")).customer("alice").send().await;

    assert_eq!(reply.status, 404);
    let stored = app.request("GET", &format!("/orders/{id}")).customer("bob").send().await;
    assert_eq!(stored.body["status"], "PENDING");
}

#[tokio::test]
async fn cancel_order_with_a_malformed_id_is_a_bad_request() {
    let app = spawn_app().await;

    let reply = app.request("DELETE", "/orders/ORDER%23123").send().await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "VALIDATION_FAILED");
}
