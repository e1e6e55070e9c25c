use serde_json::json;

use crate::helpers::{order_body, spawn_app};

#[tokio::test]
async fn create_order_returns_the_pending_order_and_queues_order_created() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let reply = app.request("POST", "/orders").json(&order_body()).send().await;

    // Assert
    assert_eq!(reply.status, 201, "{reply:?}");
    let order = &reply.body;
    let id = order["orderId"].as_str().unwrap();
    assert_eq!(reply.headers["location"], format!("/orders/{id}"));
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(order["customerId"], "alice");
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["total"], 2599);
    assert_eq!(
        (order["paid"].clone(), order["refunded"].clone(), order["version"].clone()),
        (json!(0), json!(0), json!(1))
    );
    assert_eq!(order["items"], order_body()["items"]);
    let created = order["createdAt"].as_str().unwrap();
    assert_eq!(created.len(), "2026-11-26T08:31:05.123Z".len());
    assert!(created.ends_with('Z'));
    assert_eq!(order["updatedAt"], order["createdAt"]);

    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ORDER_CREATED");
    assert_eq!(events[0]["orderId"], id);
    assert_eq!(events[0]["customerId"], "alice");
    assert!(events[0]["occurredAt"].is_string());
    // Delivered, so nothing is left waiting in the outbox.
    assert!(!app.raw_order(id).await.contains_key("outbox"));
}

#[tokio::test]
async fn create_order_accepts_the_callers_own_customer_id() {
    let app = spawn_app().await;
    let mut body = order_body();
    body["customerId"] = json!("alice");

    let reply = app.request("POST", "/orders").json(&body).send().await;

    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["customerId"], "alice");
}

#[tokio::test]
async fn create_order_for_another_customer_is_forbidden_and_writes_nothing() {
    let app = spawn_app().await;
    let mut body = order_body();
    body["customerId"] = json!("bob");

    let reply = app.request("POST", "/orders").json(&body).send().await;

    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), "FORBIDDEN");
    assert_eq!(app.item_count().await, 0);
    assert!(app.queued_events().await.is_empty());
}

#[tokio::test]
async fn an_admin_can_create_an_order_for_any_customer() {
    let app = spawn_app().await;
    let mut body = order_body();
    body["customerId"] = json!("bob");

    let reply = app.request("POST", "/orders").admin().json(&body).send().await;

    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["customerId"], "bob");
}

#[tokio::test]
async fn create_order_without_a_token_is_unauthorized() {
    let app = spawn_app().await;

    let reply = app.request("POST", "/orders").anonymous().json(&order_body()).send().await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error_code(), "UNAUTHORIZED");
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn create_order_reports_every_invalid_field() {
    let app = spawn_app().await;
    let body = json!({
        "currency": "usd",
        "items": [{"sku": "ok", "quantity": 1, "unitPrice": 5}, {"sku": "a b", "quantity": 0, "unitPrice": -3}]
    });

    let reply = app.request("POST", "/orders").json(&body).send().await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "VALIDATION_FAILED");
    let fields: Vec<&str> =
        reply.body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["currency", "items[1].sku", "items[1].quantity", "items[1].unitPrice"]);
    assert_eq!(app.item_count().await, 0);
}
