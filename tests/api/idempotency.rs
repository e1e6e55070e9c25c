use futures::future::join_all;
use platform::keys;
use serde_json::json;

use crate::helpers::{order_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn ten_parallel_payments_with_one_key_capture_once_and_reply_identically() {
    // Arrange
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let body = json!({"orderId": order, "amount": 2599, "currency": "USD", "source": "tok_visa"});

    // Act
    let replies = join_all(
        (0..10).map(|_| app.request("POST", "/payments").header("Idempotency-Key", "pay-once-1").json(&body).send()),
    )
    .await;
    let after = app.request("POST", "/payments").header("Idempotency-Key", "pay-once-1").json(&body).send().await;

    // Assert
    assert_eq!(app.items_with_prefix(keys::PAYMENT_PREFIX).await, 1);
    let completed: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert!(!completed.is_empty());
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 409), "{replies:?}");
    for reply in &completed {
        assert_eq!(reply.body, completed[0].body);
        assert_eq!(reply.headers["location"], completed[0].headers["location"]);
    }
    assert_eq!(after.status, 201);
    assert_eq!(after.body, completed[0].body);
}

#[tokio::test]
async fn a_replayed_create_returns_the_first_response_without_a_second_order() {
    let app = spawn_app().await;

    let first = app.request("POST", "/orders").header("Idempotency-Key", "k-1").json(&order_body()).send().await;
    let again = app.request("POST", "/orders").header("Idempotency-Key", "k-1").json(&order_body()).send().await;

    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(app.items_with_prefix(keys::ORDER_PREFIX).await, 1);
    assert_eq!(app.queued_events().await.len(), 1);
}

#[tokio::test]
async fn the_same_body_with_other_key_order_or_spacing_is_the_same_request() {
    let app = spawn_app().await;
    let compact = r#"{"currency":"USD","items":[{"sku":"A","quantity":1,"unitPrice":5}]}"#;
    let reordered = r#"{ "items": [ { "unitPrice": 5, "sku": "A", "quantity": 1 } ], "currency": "USD" }"#;

    let first = app
        .request("POST", "/orders")
        .header("Idempotency-Key", "k")
        .raw(compact.as_bytes(), "application/json")
        .send()
        .await;
    let second = app
        .request("POST", "/orders")
        .header("Idempotency-Key", "k")
        .raw(reordered.as_bytes(), "application/json")
        .send()
        .await;

    assert_eq!(second.body, first.body);
}

#[tokio::test]
async fn a_key_reused_with_a_different_body_is_refused() {
    let app = spawn_app().await;
    app.request("POST", "/orders").header("Idempotency-Key", "k-2").json(&order_body()).send().await;
    let mut other = order_body();
    other["currency"] = json!("EUR");

    let reply = app.request("POST", "/orders").header("Idempotency-Key", "k-2").json(&other).send().await;

    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_code(), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.items_with_prefix(keys::ORDER_PREFIX).await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;

    let alice = app.request("POST", "/orders").header("Idempotency-Key", "shared").json(&order_body()).send().await;
    let bob = app
        .request("POST", "/orders")
        .customer("bob")
        .header("Idempotency-Key", "shared")
        .json(&order_body())
        .send()
        .await;

    assert_eq!((alice.status, bob.status), (201, 201));
    assert_ne!(alice.body["orderId"], bob.body["orderId"]);
}

#[tokio::test]
async fn errors_are_replayed_too_and_malformed_keys_rejected() {
    let app = spawn_app().await;
    let declined = json!({"orderId": uuid::Uuid::new_v4(), "amount": 2599, "currency": "USD", "source": "tok_visa"});

    let first = app.request("POST", "/payments").header("Idempotency-Key", "e-1").json(&declined).send().await;
    let again = app.request("POST", "/payments").header("Idempotency-Key", "e-1").json(&declined).send().await;
    let too_long =
        app.request("POST", "/orders").header("Idempotency-Key", &"k".repeat(256)).json(&order_body()).send().await;
    let control = app.request("POST", "/orders").header("Idempotency-Key", "cl\u{e9}").json(&order_body()).send().await;

    assert_eq!((first.status, again.status), (404, 404));
    assert_eq!(again.body, first.body);
    assert_eq!((too_long.status, control.status), (400, 400));
    assert_eq!(too_long.body["details"][0]["field"], "Idempotency-Key");
    assert_eq!(app.items_with_prefix(keys::ORDER_PREFIX).await, 0);
}

#[tokio::test]
async fn a_refund_answered_pending_releases_its_key_and_the_retry_finds_the_same_refund() {
    // Arrange: a payment whose refunds stay pending at the provider for a while.
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let body = json!({"orderId": order, "amount": 2599, "currency": "USD", "source": "tok_refundFails"});
    let payment = app.request("POST", "/payments").json(&body).send().await;
    assert_eq!(payment.status, 201, "{payment:?}");
    let path = format!("/payments/{}/refund", payment.body["paymentId"].as_str().unwrap());
    let refund = || app.request("POST", &path).header("idempotency-key", "refund-1").json(&json!({"amount": 500}));

    // Act
    let first = refund().send().await;
    let claims_after_first = app.items_with_prefix(keys::IDEMPOTENCY_PREFIX).await;
    let retry = refund().send().await;

    // Assert: a 202 is not final, so no claim is kept for it (a retry is answered anew, never a
    // stored "pending"), and the retry finds the refund the key already made.
    assert_eq!((first.status, first.body["status"].as_str()), (202, Some("PENDING")), "{first:?}");
    assert_eq!(claims_after_first, 0, "the claim was released");
    assert_eq!(retry.body["refundId"], first.body["refundId"], "{retry:?}");
}

#[tokio::test]
async fn a_payment_answered_pending_releases_its_key_and_the_retry_finds_the_same_payment() {
    // Arrange: a provider that does not answer in time, and no webhook to settle the payment.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let body = json!({"orderId": order, "amount": 2599, "currency": "USD", "source": "tok_timeout"});
    let pay = || app.request("POST", "/payments").header("idempotency-key", "pay-1").json(&body);

    // Act
    let first = pay().send().await;
    let claims_after_first = app.items_with_prefix(keys::IDEMPOTENCY_PREFIX).await;
    let retry = pay().send().await;

    // Assert: as for a refund, the 202 keeps no claim, and the retry finds the payment the key made.
    assert_eq!((first.status, first.body["status"].as_str()), (202, Some("PENDING")), "{first:?}");
    assert_eq!(claims_after_first, 0, "the claim was released");
    assert_eq!(retry.body["paymentId"], first.body["paymentId"], "{retry:?}");
    assert!(app.provider_books().await["captures"].as_i64().unwrap_or(0) <= 1, "never charged twice");
}
