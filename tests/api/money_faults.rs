//! Money under faults, against the payment provider's emulator over real HTTP: lost answers,
//! failing refunds, webhooks forged, stale, repeated and out of order, and a process that dies
//! at every step of a payment or a refund. The provider's books are the judge: each card charged
//! at most once, and for every payment the platform's books equal the provider's.

use platform::faults::{self, Point};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WEBHOOK_SECRET, spawn_app, spawn_app_with};

/// How long after now the reconciler runs in these tests: past its grace period.
pub(crate) const LATER_MS: i64 = 60_000;
pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MINUTE_MS;

pub(crate) async fn confirmed(app: &TestApp) -> String {
    app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned()
}

pub(crate) fn payment_body(order: &str, amount: i64, source: &str) -> Value {
    json!({"orderId": order, "amount": amount, "currency": "USD", "source": source})
}

pub(crate) async fn get(app: &TestApp, path: &str) -> Value {
    let reply = app.request("GET", path).send().await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// Every money event on the test's queue for `payment`, by type.
pub(crate) async fn money_events(app: &TestApp, payment: &str) -> Vec<String> {
    let events = app.queued_events().await;
    events.iter().filter(|e| e["paymentId"] == payment).map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

/// The platform's books agree with the provider's for `payment`: what it captured is the
/// payment's amount once `CAPTURED`, and what it refunded is the sum of `SUCCEEDED` refunds.
pub(crate) async fn assert_books_agree(app: &TestApp, payment: &str) {
    let ours = get(app, &format!("/payments/{payment}")).await;
    let books = app.provider_books().await;
    let theirs = &books["payments"][payment];
    let captured = if ours["status"] == "CAPTURED" { ours["amount"].as_i64().unwrap() } else { 0 };
    let returned: i64 = ours["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "SUCCEEDED")
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(theirs["captured"].as_i64().unwrap_or(0), captured, "captured, {ours} vs {theirs}");
    assert_eq!(theirs["refunded"].as_i64().unwrap_or(0), returned, "refunded, {ours} vs {theirs}");
}

#[tokio::test]
async fn a_payment_whose_answer_is_lost_is_pending_then_captured_by_the_reconciler_exactly_once() {
    // Arrange: no webhooks, so only the reconciler can learn the outcome.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;

    // Act
    let reply = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_timeout")).send().await;
    let payment = reply.body["paymentId"].as_str().unwrap().to_owned();
    let pending_order = get(&app, &format!("/orders/{order}")).await;
    let run = app.reconcile(LATER_MS).await;
    let again = app.reconcile(LATER_MS).await;

    // Assert
    assert_eq!((reply.status, reply.body["status"].as_str()), (202, Some("PENDING")), "{reply:?}");
    assert_eq!(pending_order["paid"], 0, "a pending payment is not paid money");
    assert_eq!((run.settled, again.settled + again.still_pending), (1, 0));
    let settled = get(&app, &format!("/payments/{payment}")).await;
    assert_eq!(settled["status"], "CAPTURED");
    assert_eq!(get(&app, &format!("/orders/{order}")).await["status"], "PAID");
    assert_eq!(app.provider_books().await["captures"], 1);
    assert_eq!(money_events(&app, &payment).await, ["PAYMENT_CAPTURED"]);
    assert_books_agree(&app, &payment).await;
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_the_webhook_too() {
    let app = spawn_app().await;
    let order = confirmed(&app).await;

    let reply = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_timeout")).send().await;
    let payment = reply.body["paymentId"].as_str().unwrap().to_owned();

    assert_eq!(reply.status, 202);
    let mut status = Value::Null;
    for _ in 0..50 {
        status = get(&app, &format!("/payments/{payment}")).await["status"].clone();
        if status != "PENDING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "CAPTURED");
    assert_books_agree(&app, &payment).await;
}

#[tokio::test]
async fn a_refund_the_provider_fails_ends_failed_by_webhook_and_its_amount_is_refundable_again() {
    // Arrange: the provider fails the refund a second after accepting it, so the hold can be seen.
    let app = spawn_app_with(|emulator| emulator.refund_failure_delay = std::time::Duration::from_secs(1)).await;
    let order = confirmed(&app).await;
    let paid = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_refundFails")).send().await;
    assert_eq!(paid.status, 201, "{paid:?}");
    let payment = paid.body["paymentId"].as_str().unwrap().to_owned();
    let path = format!("/payments/{payment}/refund");

    // Act
    let refund = app.request("POST", &path).json(&json!({"amount": 1000})).send().await;
    let held = get(&app, &format!("/payments/{payment}")).await;
    let mut failed = Value::Null;
    for _ in 0..50 {
        failed = get(&app, &format!("/payments/{payment}")).await;
        if failed["refunds"][0]["status"] != "PENDING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let order_after = get(&app, &format!("/orders/{order}")).await;
    let whole = app.request("POST", &path).json(&json!({"amount": 2599})).send().await;

    // Assert
    assert_eq!((refund.status, refund.body["status"].as_str()), (202, Some("PENDING")), "{refund:?}");
    assert_eq!(held["refunded"], 1000, "a pending refund holds its amount");
    assert_eq!(failed["refunds"][0]["status"], "FAILED");
    assert_eq!(failed["refunds"][0]["failureReason"], "expired_or_canceled_card");
    assert_eq!(failed["refunded"], 0);
    assert_eq!(order_after["refunded"], 0);
    assert_eq!(whole.status, 202, "all of it is refundable again: {whole:?}");
    assert!(money_events(&app, &payment).await.contains(&"REFUND_FAILED".to_owned()));
}

#[tokio::test]
async fn a_partial_payment_can_be_refunded_and_the_order_cancelled_only_once_nothing_is_held() {
    // Arrange
    let app = spawn_app().await;
    let order = confirmed(&app).await;
    let payment = app.pay("alice", &order, 1000).await.body["paymentId"].as_str().unwrap().to_owned();
    let refund = format!("/payments/{payment}/refund");
    let cancel = format!("/orders/{order}");

    // Act
    let part = app.request("POST", &refund).json(&json!({"amount": 400})).send().await;
    let held = app.request("DELETE", &cancel).send().await;
    let rest = app.request("POST", &refund).json(&json!({})).send().await;
    let cancelled = app.request("DELETE", &cancel).send().await;

    // Assert
    assert_eq!((part.status, part.body["status"].as_str()), (201, Some("SUCCEEDED")), "{part:?}");
    assert_eq!((held.status, held.error_code()), (409, "CONFLICT"));
    assert_eq!((rest.status, rest.body["amount"].as_i64()), (201, Some(600)), "{rest:?}");
    assert_eq!((cancelled.status, cancelled.body["status"].as_str()), (200, Some("CANCELLED")), "{cancelled:?}");
    assert_books_agree(&app, &payment).await;
}

#[tokio::test]
async fn a_pending_payment_blocks_cancelling_its_order() {
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;
    let pending = app.request("POST", "/payments").json(&payment_body(&order, 500, "tok_timeout")).send().await;
    assert_eq!(pending.status, 202);

    let cancel = app.request("DELETE", &format!("/orders/{order}")).send().await;

    assert_eq!(cancel.status, 409, "the card may be charged: {cancel:?}");
}

/// A signed webhook delivery, as the provider sends it.
async fn deliver(app: &TestApp, event: &Value, signed_at: u64) -> u16 {
    let payload = event.to_string();
    let signature = local::provider_emulator::signature_header(WEBHOOK_SECRET, signed_at, &payload);
    app.request("POST", "/webhooks/payment-provider")
        .anonymous()
        .header("stripe-signature", &signature)
        .raw(payload.as_bytes(), "application/json")
        .send()
        .await
        .status
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn webhooks_are_refused_unsigned_or_stale_and_repeated_or_late_ones_change_nothing() {
    // Arrange: a payment left PENDING, and what the provider would say about it.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;
    let reply = app.request("POST", "/payments").json(&payment_body(&order, 700, "tok_timeout")).send().await;
    let payment = reply.body["paymentId"].as_str().unwrap().to_owned();
    let intent =
        json!({"id": "pi_1", "latest_charge": "ch_1", "status": "succeeded", "metadata": {"payment_id": payment}});
    let captured = json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": intent}});
    let failed = json!({"id": "evt_2", "type": "payment_intent.payment_failed", "data": {"object": intent}});

    // Act
    let forged = app
        .request("POST", "/webhooks/payment-provider")
        .anonymous()
        .header("stripe-signature", &format!("t={},v1={}", now_seconds(), "00".repeat(32)))
        .raw(captured.to_string().as_bytes(), "application/json")
        .send()
        .await
        .status;
    let stale = deliver(&app, &captured, now_seconds() - 600).await;
    let still_pending = get(&app, &format!("/payments/{payment}")).await["status"].clone();
    let first = deliver(&app, &captured, now_seconds()).await;
    let after_first = get(&app, &format!("/orders/{order}")).await;
    let replayed = deliver(&app, &captured, now_seconds()).await;
    let late = deliver(&app, &failed, now_seconds()).await;

    // Assert
    assert_eq!((forged, stale), (401, 401));
    assert_eq!(still_pending, "PENDING");
    assert_eq!((first, replayed, late), (200, 200, 200));
    assert_eq!(get(&app, &format!("/payments/{payment}")).await["status"], "CAPTURED");
    assert_eq!(get(&app, &format!("/orders/{order}")).await, after_first, "a repeated or late event changes nothing");
    assert_eq!(after_first["paid"], 700);
    assert_eq!(money_events(&app, &payment).await, ["PAYMENT_CAPTURED"]);
}

/// Runs `request` with `point` armed; the "process" dies there.
async fn crash<F>(point: Point, request: F)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let died = tokio::spawn(faults::armed(point, request)).await;
    assert!(died.is_err_and(|e| e.is_panic()), "the request was to die at {point:?}");
}

#[tokio::test]
async fn a_payment_that_dies_at_any_step_charges_the_card_once_whether_retried_or_reconciled() {
    for point in [Point::AfterClaim, Point::AfterPaymentWrite, Point::AfterCharge] {
        for retried in [true, false] {
            // Arrange
            let app = std::sync::Arc::new(spawn_app().await);
            let order = confirmed(&app).await;
            let body = payment_body(&order, 2599, "tok_visa");
            let send = {
                let (app, body) = (app.clone(), body.clone());
                async move { app.request("POST", "/payments").header("idempotency-key", "pay-1").json(&body).send().await }
            };

            // Act: the first attempt dies; the client retries with its key once the claim's lock
            // has expired, or never comes back; either way the reconciler runs.
            crash(point, send).await;
            app.expire_idempotency_locks().await;
            let retry = if retried {
                Some(app.request("POST", "/payments").header("idempotency-key", "pay-1").json(&body).send().await)
            } else {
                None
            };
            app.reconcile(LATER_MS).await;

            // Assert
            let books = app.provider_books().await;
            let charged_once_at_most = books["captures"].as_i64().unwrap() <= 1;
            assert!(charged_once_at_most, "{point:?} retried={retried}: {books}");
            let order_now = get(&app, &format!("/orders/{order}")).await;
            if let Some(retry) = retry {
                assert_eq!(retry.status, 201, "{point:?}: {retry:?}");
                assert_books_agree(&app, retry.body["paymentId"].as_str().unwrap()).await;
                assert_eq!(order_now["paid"], 2599, "{point:?}");
            } else {
                let captured: i64 =
                    books["payments"].as_object().unwrap().values().map(|p| p["captured"].as_i64().unwrap()).sum();
                assert_eq!(order_now["paid"].as_i64().unwrap(), captured, "{point:?}: {order_now} vs {books}");
                for payment in books["payments"].as_object().unwrap().keys() {
                    assert_books_agree(&app, payment).await;
                }
            }
            assert!(order_now["paid"].as_i64().unwrap() <= order_now["total"].as_i64().unwrap());
        }
    }
}

#[tokio::test]
async fn a_refund_that_dies_at_any_step_returns_the_money_once_whether_retried_or_reconciled() {
    for point in [Point::AfterClaim, Point::AfterRefundHold, Point::AfterRefund] {
        for retried in [true, false] {
            // Arrange
            let app = std::sync::Arc::new(spawn_app().await);
            let order = confirmed(&app).await;
            let payment = app.pay("alice", &order, 2599).await.body["paymentId"].as_str().unwrap().to_owned();
            let path = format!("/payments/{payment}/refund");
            let send = {
                let (app, path) = (app.clone(), path.clone());
                async move {
                    let body = json!({"amount": 1000});
                    app.request("POST", &path).header("idempotency-key", "refund-1").json(&body).send().await
                }
            };

            // Act
            crash(point, send).await;
            app.expire_idempotency_locks().await;
            if retried {
                let body = json!({"amount": 1000});
                let retry = app.request("POST", &path).header("idempotency-key", "refund-1").json(&body).send().await;
                assert_eq!((retry.status, retry.body["status"].as_str()), (201, Some("SUCCEEDED")), "{point:?}");
            }
            app.reconcile(LATER_MS).await;

            // Assert
            let ours = get(&app, &format!("/payments/{payment}")).await;
            let refunds = ours["refunds"].as_array().unwrap();
            assert!(refunds.len() <= 1, "{point:?}: one refund at most: {ours}");
            assert!(refunds.iter().all(|r| r["status"] != "PENDING"), "{point:?}: settled: {ours}");
            assert_books_agree(&app, &payment).await;
            let order_now = get(&app, &format!("/orders/{order}")).await;
            assert_eq!(order_now["refunded"], ours["refunded"], "{point:?}");
            assert!(ours["refunded"].as_i64().unwrap() <= ours["amount"].as_i64().unwrap());
        }
    }
}
