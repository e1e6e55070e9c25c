use futures::future::join_all;
use platform::keys;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn paying_the_whole_total_captures_the_payment_and_marks_the_order_paid() {
    // Arrange
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await;
    let id = order["orderId"].as_str().unwrap();
    app.queued_events().await;

    // Act
    let reply = app.pay("alice", id, 2599).await;

    // Assert
    assert_eq!(reply.status, 201, "{reply:?}");
    let payment = &reply.body;
    let payment_id = payment["paymentId"].as_str().unwrap();
    assert_eq!(reply.headers["location"], format!("/payments/{payment_id}"));
    assert_eq!(payment["orderId"], id);
    assert_eq!((payment["amount"].clone(), payment["currency"].clone()), (json!(2599), json!("USD")));
    assert_eq!(payment["status"], "CAPTURED");
    assert_eq!((payment["refunded"].clone(), payment["refunds"].clone()), (json!(0), json!([])));
    assert!(payment["createdAt"].is_string());
    assert!(payment.get("providerReference").is_none());

    let order = app.request("GET", &format!("/orders/{id}")).send().await.body;
    assert_eq!(
        (order["status"].clone(), order["paid"].clone(), order["version"].clone()),
        (json!("PAID"), json!(2599), json!(2))
    );
    let events = app.queued_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "PAYMENT_CAPTURED");
    assert_eq!((events[0]["paymentId"].as_str(), events[0]["amount"].as_i64()), (Some(payment_id), Some(2599)));
}

#[tokio::test]
async fn partial_payments_keep_the_order_confirmed_until_the_total_is_covered() {
    let app = spawn_app().await;
    let id = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();

    let first = app.pay("alice", &id, 1000).await;
    let halfway = app.request("GET", &format!("/orders/{id}")).send().await.body;
    let second = app.pay("alice", &id, 1599).await;
    let paid = app.request("GET", &format!("/orders/{id}")).send().await.body;

    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!((halfway["status"].clone(), halfway["paid"].clone()), (json!("CONFIRMED"), json!(1000)));
    assert_eq!((paid["status"].clone(), paid["paid"].clone()), (json!("PAID"), json!(2599)));
}

#[tokio::test]
async fn twenty_concurrent_payments_that_each_cover_the_total_capture_exactly_one() {
    // Arrange
    let app = spawn_app().await;
    let id = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();

    // Act
    let replies = join_all((0..20).map(|_| app.pay("alice", &id, 2599))).await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(app.items_with_prefix(keys::PAYMENT_PREFIX).await, 1);
    let order = app.request("GET", &format!("/orders/{id}")).send().await.body;
    assert_eq!(order["paid"], 2599);
}

#[tokio::test]
async fn payments_that_cannot_be_taken_get_their_documented_error_and_write_nothing() {
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let pending = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let bobs = app.confirmed_order("bob").await["orderId"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::new_v4().to_string();
    let body = |order: &str, amount: serde_json::Value, currency: &str, source: &str| json!({"orderId": order, "amount": amount, "currency": currency, "source": source});

    let cases = [
        ("declined card", body(&order, json!(100), "USD", "tok_chargeDeclined"), 402, "PAYMENT_DECLINED"),
        ("insufficient funds", body(&order, json!(100), "USD", "tok_insufficientFunds"), 402, "PAYMENT_DECLINED"),
        ("unknown card token", body(&order, json!(100), "USD", "tok_amex"), 400, "VALIDATION_FAILED"),
        ("a card number as source", body(&order, json!(100), "USD", "4242424242424242"), 400, "VALIDATION_FAILED"),
        ("an empty source", body(&order, json!(100), "USD", ""), 400, "VALIDATION_FAILED"),
        ("a source of another shape", body(&order, json!(100), "USD", "tok_<script>"), 400, "VALIDATION_FAILED"),
        ("zero amount", body(&order, json!(0), "USD", "tok_visa"), 400, "VALIDATION_FAILED"),
        ("negative amount", body(&order, json!(-100), "USD", "tok_visa"), 400, "VALIDATION_FAILED"),
        (
            "amount above the limit",
            body(&order, json!(10_000_000_000_001_i64), "USD", "tok_visa"),
            400,
            "VALIDATION_FAILED",
        ),
        ("fractional amount", body(&order, json!(10.5), "USD", "tok_visa"), 400, "VALIDATION_FAILED"),
        ("wrong currency", body(&order, json!(100), "EUR", "tok_visa"), 400, "VALIDATION_FAILED"),
        ("more than is outstanding", body(&order, json!(2600), "USD", "tok_visa"), 409, "CONFLICT"),
        ("an order not yet confirmed", body(&pending, json!(100), "USD", "tok_visa"), 409, "CONFLICT"),
        ("another customer's order", body(&bobs, json!(100), "USD", "tok_visa"), 404, "NOT_FOUND"),
        ("a missing order", body(&missing, json!(100), "USD", "tok_visa"), 404, "NOT_FOUND"),
        ("a malformed order id", body("ORDER#1", json!(100), "USD", "tok_visa"), 400, "VALIDATION_FAILED"),
    ];
    for (name, body, status, code) in cases {
        let reply = app.request("POST", "/payments").json(&body).send().await;

        assert_eq!(reply.status, status, "{name}: {reply:?}");
        assert_eq!(reply.error_code(), code, "{name}");
    }
    // The provider refused three (two declines, an unknown token): those are recorded FAILED, and
    // nothing else was written (a malformed source is refused before anything is stored).
    assert_eq!(app.items_with_prefix(keys::PAYMENT_PREFIX).await, 3);
    let order = app.request("GET", &format!("/orders/{order}")).send().await.body;
    assert_eq!(order["paid"], json!(0));
    let raw = app.raw_order(order["orderId"].as_str().unwrap()).await;
    assert_eq!(raw["committed"].as_n().unwrap(), "0", "every hold was released");
}

#[tokio::test]
async fn a_cancelled_order_cannot_be_paid() {
    let app = spawn_app().await;
    let id = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    app.request("DELETE", &format!("/orders/{id}")).send().await;

    let reply = app.pay("alice", &id, 100).await;

    assert_eq!(reply.status, 409);
    assert_eq!(app.items_with_prefix(keys::PAYMENT_PREFIX).await, 0);
}

#[tokio::test]
async fn refusals_are_final_failed_payments_with_a_code_never_the_providers_text() {
    // Arrange: one order per card, each paid with a key so the payment can be read back.
    let app = spawn_app().await;
    let alice = platform::domain::CustomerId::parse("sub", "alice").unwrap();
    let cases = [
        ("tok_chargeDeclined", 402, "card_declined"),
        ("tok_insufficientFunds", 402, "insufficient_funds"),
        ("tok_threeDSecureRequired", 402, "authentication_required"),
        ("tok_amex", 400, "provider_refused"),
    ];
    for (token, status, code) in cases {
        let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
        let body = json!({"orderId": order, "amount": 2599, "currency": "USD", "source": token});

        // Act
        let reply = app.request("POST", "/payments").header("idempotency-key", token).json(&body).send().await;

        // Assert: FAILED at once with the code, the order's hold released, nothing captured.
        assert_eq!(reply.status, status, "{token}: {reply:?}");
        let id = platform::domain::PaymentId::for_key(&alice, token);
        let payment = app.request("GET", &format!("/payments/{id}")).send().await.body;
        assert_eq!(
            (payment["status"].as_str(), payment["failureReason"].as_str()),
            (Some("FAILED"), Some(code)),
            "{token}"
        );
        let raw = app.raw_order(&order).await;
        assert_eq!(raw["committed"].as_n().unwrap(), "0", "{token}: the hold was released");
    }
    assert_eq!(app.provider_books().await["captures"], 0);
}

#[tokio::test]
async fn the_card_token_is_kept_only_while_the_payment_is_pending() {
    // Arrange: one payment captured at once, one whose answer is lost.
    let app = &spawn_app_with(|emulator| emulator.webhook = None).await;
    let pay = |token: &'static str| async move {
        let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
        let body = json!({"orderId": order, "amount": 2599, "currency": "USD", "source": token});
        app.request("POST", "/payments").json(&body).send().await.body["paymentId"].as_str().unwrap().to_owned()
    };

    // Act
    let captured = pay("tok_visa").await;
    let pending = pay("tok_timeout").await;

    // Assert: the pending one keeps its token, to be asked again; the settled one has none.
    assert!(!app.raw_payment(&captured).await.contains_key("source"));
    assert!(app.raw_payment(&pending).await.contains_key("source"));
    app.reconcile(60_000).await;
    assert!(!app.raw_payment(&pending).await.contains_key("source"), "settled by the reconciler");
}
