use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use platform::keys;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// A paid order of alice's and its payment's id.
async fn paid(app: &TestApp, amount: i64) -> (String, String) {
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let reply = app.pay("alice", &order, amount).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    (order, reply.body["paymentId"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_refund_without_an_amount_refunds_everything_left() {
    // Arrange
    let app = spawn_app().await;
    let (order, payment) = paid(&app, 2599).await;
    app.queued_events().await;

    // Act
    let reply = app
        .request("POST", &format!("/payments/{payment}/refund"))
        .json(&json!({"reason": "changed mind"}))
        .send()
        .await;

    // Assert
    assert_eq!(reply.status, 201, "{reply:?}");
    let refund = &reply.body;
    assert!(refund["refundId"].is_string());
    assert_eq!((refund["paymentId"].as_str(), refund["amount"].as_i64()), (Some(payment.as_str()), Some(2599)));
    assert_eq!(refund["reason"], "changed mind");
    let order = app.request("GET", &format!("/orders/{order}")).send().await.body;
    assert_eq!((order["status"].clone(), order["refunded"].clone()), (json!("REFUNDED"), json!(2599)));
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0]["type"].as_str(), events[0]["amount"].as_i64()), (Some("REFUND_ISSUED"), Some(2599)));
    assert_eq!(events[0]["refundId"], refund["refundId"]);
}

#[tokio::test]
async fn a_partial_refund_leaves_the_order_partially_refunded() {
    let app = spawn_app().await;
    let (order, payment) = paid(&app, 2599).await;

    let reply = app.request("POST", &format!("/payments/{payment}/refund")).json(&json!({"amount": 599})).send().await;

    assert_eq!(reply.status, 201);
    let order = app.request("GET", &format!("/orders/{order}")).send().await.body;
    assert_eq!((order["status"].clone(), order["refunded"].clone()), (json!("PARTIALLY_REFUNDED"), json!(599)));
}

#[tokio::test]
async fn fifty_concurrent_refunds_of_a_tenth_each_refund_exactly_the_payment() {
    // Arrange: a 2590-cent order paid in full.
    let app = spawn_app().await;
    let order = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.force(&order, "total", AttributeValue::N("2590".into())).await;
    app.force(&order, "status", AttributeValue::S("CONFIRMED".into())).await;
    let payment = app.pay("alice", &order, 2590).await.body["paymentId"].as_str().unwrap().to_owned();
    let path = format!("/payments/{payment}/refund");

    // Act
    let replies = join_all((0..50).map(|_| app.request("POST", &path).json(&json!({"amount": 259})).send())).await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 40, "{statuses:?}");
    let payment = app.request("GET", &format!("/payments/{payment}")).send().await.body;
    assert_eq!(payment["refunded"], 2590);
    assert_eq!(payment["refunds"].as_array().unwrap().len(), 10);
    let order = app.request("GET", &format!("/orders/{order}")).send().await.body;
    assert_eq!((order["refunded"].clone(), order["paid"].clone()), (json!(2590), json!(2590)));
    assert_eq!(order["status"], "REFUNDED");
}

#[tokio::test]
async fn refunds_that_cannot_be_made_get_their_documented_error_and_write_nothing() {
    let app = spawn_app().await;
    let (_, payment) = paid(&app, 2599).await;
    let refund = |id: &str| format!("/payments/{id}/refund");

    let cases = [
        ("zero amount", refund(&payment), json!({"amount": 0}), 400, "VALIDATION_FAILED"),
        ("negative amount", refund(&payment), json!({"amount": -5}), 400, "VALIDATION_FAILED"),
        ("more than was paid", refund(&payment), json!({"amount": 2600}), 409, "CONFLICT"),
        ("a reason too long", refund(&payment), json!({"reason": "x".repeat(501)}), 400, "VALIDATION_FAILED"),
        ("an unknown field", refund(&payment), json!({"amount": 1, "currency": "USD"}), 400, "VALIDATION_FAILED"),
        ("a missing payment", refund(&uuid::Uuid::new_v4().to_string()), json!({}), 404, "NOT_FOUND"),
        ("a malformed payment id", refund("x%23y"), json!({}), 400, "VALIDATION_FAILED"),
    ];
    for (name, path, body, status, code) in cases {
        let reply = app.request("POST", &path).json(&body).send().await;

        assert_eq!(reply.status, status, "{name}: {reply:?}");
        assert_eq!(reply.error_code(), code, "{name}");
    }
    let bobs_view = app.request("POST", &refund(&payment)).customer("bob").json(&json!({})).send().await;
    assert_eq!(bobs_view.status, 404);
    let refund_items = app.items_with_prefix(keys::PAYMENT_PREFIX).await;
    assert_eq!(refund_items, 1, "only the payment is stored, no refund");
}

#[tokio::test]
async fn a_fully_refunded_payment_refuses_further_refunds() {
    let app = spawn_app().await;
    let (_, payment) = paid(&app, 2599).await;
    let path = format!("/payments/{payment}/refund");
    app.request("POST", &path).json(&json!({})).send().await;

    let again = app.request("POST", &path).json(&json!({})).send().await;

    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn the_hundred_and_first_refund_of_a_payment_is_refused() {
    // Arrange: a payment with a hundred one-cent refunds.
    let app = spawn_app().await;
    let (_, payment) = paid(&app, 2599).await;
    let path = format!("/payments/{payment}/refund");
    for n in 0..platform::store::MAX_REFUNDS_PER_PAYMENT {
        let reply = app.request("POST", &path).json(&json!({"amount": 1})).send().await;
        assert_eq!(reply.status, 201, "refund {n}: {reply:?}");
    }

    // Act
    let one_more = app.request("POST", &path).json(&json!({"amount": 1})).send().await;

    // Assert: refused by the write's condition, with money left to refund; nothing written.
    assert_eq!((one_more.status, one_more.error_code()), (409, "CONFLICT"));
    let stored = app.request("GET", &format!("/payments/{payment}")).send().await.body;
    assert_eq!((stored["refunds"].as_array().unwrap().len(), stored["refunded"].as_i64()), (100, Some(100)));
}
