use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn new_lines() -> Value {
    json!({"currency": "EUR", "items": [{"sku": "SKU-9", "quantity": 3, "unitPrice": 500}]})
}

#[tokio::test]
async fn update_order_replaces_lines_bumps_the_version_and_queues_order_updated() {
    let app = spawn_app().await;
    let created = app.create_order("alice").await;
    let id = created["orderId"].as_str().unwrap();
    app.queued_events().await;

    let reply =
        app.request("PUT", &format!("/orders/{id}")).header("if-match", "\"1\"").json(&new_lines()).send().await;

    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.body["currency"], "EUR");
    assert_eq!(reply.body["total"], 1500);
    assert_eq!(reply.body["items"], new_lines()["items"]);
    assert_eq!(reply.body["createdAt"], created["createdAt"]);
    let fetched = app.request("GET", &format!("/orders/{id}")).send().await;
    assert_eq!(fetched.body, reply.body);
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ORDER_UPDATED");
    assert_eq!(events[0]["orderId"], id);
}

#[tokio::test]
async fn update_order_without_if_match_applies_to_the_current_version() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();

    let first = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;
    let second = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;

    assert_eq!((first.body["version"].clone(), second.body["version"].clone()), (json!(2), json!(3)));
}

#[tokio::test]
async fn update_order_with_a_stale_if_match_is_a_failed_precondition() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;

    let reply = app.request("PUT", &format!("/orders/{id}")).header("if-match", "1").json(&new_lines()).send().await;

    assert_eq!(reply.status, 412);
    assert_eq!(reply.error_code(), "PRECONDITION_FAILED");
}

#[tokio::test]
async fn twenty_concurrent_updates_of_one_version_have_exactly_one_winner() {
    // Arrange
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.queued_events().await;
    let path = format!("/orders/{id}");

    // Act
    let replies = join_all((0..20).map(|i| {
        let body =
            json!({"currency": "USD", "items": [{"sku": format!("SKU-{i}"), "quantity": 1, "unitPrice": 100 + i}]});
        app.request("PUT", &path).header("if-match", "1").json(&body).send()
    }))
    .await;

    // Assert
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 412));
    let stored = app.request("GET", &path).send().await.body;
    assert_eq!(stored, winners[0].body);
    assert_eq!(stored["version"], 2);
    assert_eq!(app.queued_events().await.len(), 1);
}

#[tokio::test]
async fn update_order_is_refused_once_cancelled_or_paid() {
    let app = spawn_app().await;
    let cancelled = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.request("DELETE", &format!("/orders/{cancelled}")).send().await;
    let paid = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.force(&paid, "status", AttributeValue::S("PAID".into())).await;
    app.force(&paid, "paid", AttributeValue::N("2599".into())).await;

    for id in [cancelled, paid] {
        let reply = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;

        assert_eq!(reply.status, 409, "{reply:?}");
        assert_eq!(reply.error_code(), "CONFLICT");
    }
}

#[tokio::test]
async fn update_order_of_another_customer_or_a_missing_order_is_not_found() {
    let app = spawn_app().await;
    let theirs = app.create_order("bob").await["orderId"].as_str().unwrap().to_owned();

    for id in [theirs.clone(), uuid::Uuid::new_v4().to_string()] {
        let reply = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;

        assert_eq!(reply.status, 404);
        assert_eq!(reply.error_code(), "NOT_FOUND");
    }
    let untouched = app.request("GET", &format!("/orders/{theirs}")).customer("bob").send().await;
    assert_eq!(untouched.body["version"], 1);
}

#[tokio::test]
async fn update_order_rejects_a_malformed_if_match() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();

    let reply =
        app.request("PUT", &format!("/orders/{id}")).header("if-match", "\"v1\"").json(&new_lines()).send().await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["field"], "If-Match");
}

#[tokio::test]
async fn an_order_takes_updates_until_its_history_reaches_its_limit() {
    // Each version is a revision in the order's history; the limit keeps the item within
    // DynamoDB's 400 KB however large each update's items.
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let limit = platform::domain::MAX_REVISIONS_TO_UPDATE;
    for version in 2..=limit {
        let reply = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;
        assert_eq!((reply.status, reply.body["version"].as_u64()), (200, Some(version as u64)), "{reply:?}");
    }

    let refused = app.request("PUT", &format!("/orders/{id}")).json(&new_lines()).send().await;

    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(refused.error_code(), "CONFLICT", "final, not a retry: {refused:?}");
    assert!(refused.body["error"].as_str().unwrap().contains(&format!("limit of {limit} changes")), "{refused:?}");
    let history = app.raw_order(&id).await["history"].as_l().unwrap().len();
    assert_eq!(history, limit);
}
