//! Money converges whatever the provider does (`API.md`, "Payments"): an outage of half an hour,
//! an answer that is a 500 replayed for its key for 24 hours, a key the provider has forgotten, a
//! key it refuses. The emulator's clock stands in for the provider's time, and the reconciler is
//! run at the platform's times a schedule would run it; no webhooks, so only the platform's own
//! looks can settle anything.

use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::money_faults::{HOUR_MS, MINUTE_MS, assert_books_agree, confirmed, get, money_events, payment_body};

#[tokio::test]
async fn everything_begun_during_a_half_hour_outage_settles_once_within_five_minutes_of_its_end() {
    // Arrange: a captured payment of 1000 on a 2599 order, then the provider down for 30 minutes.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;
    let first = app.request("POST", "/payments").json(&payment_body(&order, 1000, "tok_visa")).send().await;
    let first = first.body["paymentId"].as_str().unwrap().to_owned();
    app.emulator_control("/_emulator/outage", json!({"seconds": 1800})).await;

    // Act: a payment and a refund during it; the reconciler every minute; the provider back at 30.
    let payment = app.request("POST", "/payments").json(&payment_body(&order, 1599, "tok_visa")).send().await;
    let refund = app.request("POST", &format!("/payments/{first}/refund")).json(&json!({"amount": 300})).send().await;
    let mut settled_at = None;
    for minute in 1..=40 {
        if minute == 30 {
            app.emulator_control("/_emulator/clock", json!({"advanceSeconds": 1800})).await;
        }
        let run = app.reconcile(minute * MINUTE_MS).await;
        assert_eq!(run.failed, 0, "minute {minute}: {run:?}");
        if run.settled > 0 {
            settled_at.get_or_insert(minute);
        }
    }

    // Assert: both answered 202 and settled once, at the first look after the outage.
    assert_eq!((payment.status, refund.status), (202, 202), "{payment:?} {refund:?}");
    let payment = payment.body["paymentId"].as_str().unwrap().to_owned();
    assert!(settled_at.is_some_and(|m| (30..35).contains(&m)), "settled at minute {settled_at:?}");
    assert_eq!(get(&app, &format!("/payments/{payment}")).await["status"], "CAPTURED");
    assert_eq!(get(&app, &format!("/payments/{first}")).await["refunds"][0]["status"], "SUCCEEDED");
    assert_eq!(app.provider_books().await["captures"], 2);
    assert_eq!(money_events(&app, &payment).await, ["PAYMENT_CAPTURED"]);
    assert_books_agree(&app, &first).await;
    assert_books_agree(&app, &payment).await;
}

#[tokio::test]
async fn a_capture_answered_with_a_replayed_500_is_found_by_our_id_and_settled() {
    // Arrange: the provider captures but answers 500, and answers it again for the key.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;

    // Act
    let reply = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_providerError")).send().await;
    let run = app.reconcile(MINUTE_MS).await;

    // Assert: asking again with the key could only get the 500 back; the look-up found the capture.
    assert_eq!((reply.status, reply.body["status"].as_str()), (202, Some("PENDING")), "{reply:?}");
    assert_eq!((run.settled, run.still_pending), (1, 0), "{run:?}");
    let payment = reply.body["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(get(&app, &format!("/payments/{payment}")).await["status"], "CAPTURED");
    assert_eq!(app.provider_books().await["captures"], 1);
    assert_books_agree(&app, &payment).await;
}

#[tokio::test]
async fn a_client_retrying_with_its_key_25_hours_later_charges_nothing_twice() {
    // Arrange: a keyed payment left PENDING (a replayed 500, no webhook, no reconciler yet).
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;
    let body = payment_body(&order, 2599, "tok_providerError");
    let first = app.request("POST", "/payments").header("Idempotency-Key", "late").json(&body).send().await;

    // Act: a day and an hour later at the provider, which has forgotten the key, the client retries.
    app.emulator_control("/_emulator/clock", json!({"advanceSeconds": 25 * 3600})).await;
    let retry = app.request("POST", "/payments").header("Idempotency-Key", "late").json(&body).send().await;

    // Assert: the retry looked the payment up instead of charging again.
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!((retry.status, retry.body["status"].as_str()), (201, Some("CAPTURED")), "{retry:?}");
    assert_eq!(retry.body["paymentId"], first.body["paymentId"]);
    assert_eq!(app.provider_books().await["captures"], 1);
}

#[tokio::test]
async fn a_payment_the_provider_never_received_is_not_asked_for_once_its_key_may_be_forgotten() {
    // Arrange: a payment begun while the provider was unreachable, which never reached it.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let order = confirmed(&app).await;
    app.emulator_control("/_emulator/outage", json!({"seconds": 30 * 3600})).await;
    let reply = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_visa")).send().await;

    // Act: the provider answers again 25 hours later; the reconciler looks then.
    app.emulator_control("/_emulator/clock", json!({"advanceSeconds": 30 * 3600})).await;
    let run = app.reconcile(25 * HOUR_MS).await;

    // Assert: looked up, not found, and not charged (a charge now could be a second one, were the
    // look-up wrong); it stays PENDING, counted stuck for a person.
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!((run.settled, run.still_pending, run.stuck), (0, 1, 1), "{run:?}");
    assert_eq!(app.provider_books().await["captures"], 0);
    let payment = reply.body["paymentId"].as_str().unwrap();
    assert_eq!(get(&app, &format!("/payments/{payment}")).await["status"], "PENDING");
}

#[tokio::test]
async fn a_key_the_provider_refuses_fails_the_payment_at_once_and_says_so() {
    // Arrange: the provider expects another secret key than the platform's.
    let app = spawn_app_with(|emulator| emulator.api_key = "sk_test_another".into()).await;
    let order = confirmed(&app).await;

    // Act
    let reply = app.request("POST", "/payments").json(&payment_body(&order, 2599, "tok_visa")).send().await;

    // Assert: FAILED, the hold released, and said as an error (beside the metric its alarm watches).
    assert_eq!((reply.status, reply.body["code"].as_str()), (402, Some("PAYMENT_DECLINED")), "{reply:?}");
    assert_eq!(app.raw_order(&order).await["committed"].as_n().unwrap(), "0");
    let said = |line: &serde_json::Value| line["fields"]["message"] == "the payment provider refused our API key";
    assert!(crate::helpers::logs().iter().any(said), "the refusal was logged");
}

#[tokio::test]
async fn an_amount_outside_the_providers_limits_is_refused_before_anything_is_written() {
    let app = spawn_app_with(|_| {}).await;
    let order = confirmed(&app).await;

    for amount in [49, 100_000_000] {
        let reply = app.request("POST", "/payments").json(&payment_body(&order, amount, "tok_visa")).send().await;

        assert_eq!((reply.status, reply.body["details"][0]["field"].as_str()), (400, Some("amount")), "{reply:?}");
    }
    assert_eq!(app.items_with_prefix(platform::keys::PAYMENT_PREFIX).await, 0);
    assert_eq!(app.raw_order(&order).await["committed"].as_n().unwrap(), "0");
}
