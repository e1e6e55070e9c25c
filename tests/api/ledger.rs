//! The daily report as a ledger: a past day reruns byte-identical whatever happens after it, money
//! counts on the day it moved, no CSV cell can start a formula, and a day's ledger balances with
//! the payment provider's own books, with what was pending at midnight shown as pending.

use platform::domain::{Caller, LineItemInput, Lines, OrderId, OrderStatus, Timestamp};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::report::{capture, object, refund, rows, run, seed, seed_as, t};

/// A day's three objects as written, the summary without its `generatedAt` line.
async fn day_objects(app: &TestApp, date: &str) -> [Vec<u8>; 3] {
    let key = |name: &str| format!("reports/daily/{date}/{name}");
    let summary = String::from_utf8(object(app, &key("summary.json")).await.unwrap()).unwrap();
    let summary: Vec<&str> = summary.lines().filter(|l| !l.contains("\"generatedAt\"")).collect();
    let csv = async |name: &str| object(app, &key(name)).await.unwrap();
    [csv("orders.csv").await, csv("payments.csv").await, summary.join("\n").into_bytes()]
}

#[tokio::test]
async fn a_past_day_reruns_byte_identical_whatever_happens_after_it() {
    // Arrange: the day's orders, paid, refunded, unpaid, pending; then its report.
    let app = spawn_app().await;
    let admin = Caller::from_claims(Some("ops"), Some("orders:admin")).unwrap();
    seed(&app, "2026-11-25T09:00:00.000Z", "USD", 1000, OrderStatus::PartiallyRefunded, "").await;
    let unpaid = seed(&app, "2026-11-25T10:00:00.000Z", "USD", 400, OrderStatus::Confirmed, "").await;
    let pending = seed(&app, "2026-11-25T11:00:00.000Z", "EUR", 300, OrderStatus::Pending, "").await;
    let paid = seed(&app, "2026-11-25T23:59:59.000Z", "USD", 250, OrderStatus::Confirmed, "").await;
    let paid_payment = capture(&app, &paid, t("2026-11-25T23:59:59.500Z")).await;
    let first = run(&app, "2026-11-25").await;
    let before = day_objects(&app, "2026-11-25").await;

    // Act: the next day, every kind of change to those orders; then the first day again.
    let next = t("2026-11-26T08:00:00.000Z");
    let late_refund = refund(&app, &paid_payment, 500, next).await;
    let late_capture = capture(&app, &unpaid, next).await;
    let lines = Lines::parse("EUR", &[LineItemInput { sku: "NEW".into(), quantity: 1, unit_price: 9 }]).unwrap();
    app.harness.store.update_lines(&admin, &pending.order_id, &lines, None, next).await.unwrap();
    app.harness.store.cancel(&admin, &pending.order_id, next).await.unwrap();
    let second = run(&app, "2026-11-25").await;

    // Assert: the same bytes; money by the day it moved.
    assert_eq!(day_objects(&app, "2026-11-25").await, before);
    assert_eq!(daily_report::Summary { generated_at: first.generated_at, ..second }, first);
    assert_eq!((first.paid["USD"], first.refunded["USD"]), (2000 + 500, 500));
    let orders = rows(&before[0]);
    let row = |id: &OrderId| orders.iter().find(|r| r["orderId"] == id.to_string()).unwrap().clone();
    assert_eq!((row(&paid.order_id)["status"].as_str(), row(&paid.order_id)["refunded"].as_str()), ("PAID", "0"));
    assert_eq!(
        (row(&pending.order_id)["status"].as_str(), row(&pending.order_id)["total"].as_str()),
        ("PENDING", "600")
    );

    let next_day = run(&app, "2026-11-26").await;
    let moved_next = rows(&object(&app, "reports/daily/2026-11-26/payments.csv").await.unwrap());
    let ids: Vec<(&str, &str)> = moved_next.iter().map(|r| (r["movement"].as_str(), r["status"].as_str())).collect();
    assert_eq!(ids.len(), 2, "{moved_next:?}");
    assert!(
        moved_next.iter().any(|r| r["refundId"] == late_refund.refund_id.to_string() && r["status"] == "SUCCEEDED")
    );
    assert!(
        moved_next.iter().any(|r| r["paymentId"] == late_capture.payment_id.to_string() && r["status"] == "CAPTURED")
    );
    assert!(!rows(&before[1]).iter().any(|r| r["refundId"] == late_refund.refund_id.to_string()));
    assert_eq!((next_day.paid["USD"], next_day.refunded["USD"], next_day.net["USD"]), (800, 500, 300));
    assert_eq!(next_day.orders.count, 0, "no order was created that day");
}

#[tokio::test]
async fn no_cell_of_either_csv_starts_a_formula() {
    // Customer ids may hold = + - @ (the contract allows them); reasons hold anything.
    let app = spawn_app().await;
    let hostile = ["=1+2", "+A1", "-2+3", "@cmd", "=A1|B2"];
    for (i, customer) in hostile.iter().enumerate() {
        seed_as(&app, customer, &format!("2026-11-25T0{i}:00:00.000Z"), "USD", 10, OrderStatus::Paid, "").await;
    }
    for (i, reason) in ["\t=cmd", "\r=cmd", "=1+2", "-5"].iter().enumerate() {
        seed(&app, &format!("2026-11-25T1{i}:00:00.000Z"), "USD", 10, OrderStatus::Rejected, reason).await;
    }

    run(&app, "2026-11-25").await;

    for name in ["orders.csv", "payments.csv"] {
        let csv = object(&app, &format!("reports/daily/2026-11-25/{name}")).await.unwrap();
        let rows = rows(&csv);
        assert!(!rows.is_empty());
        for row in &rows {
            for cell in row.values() {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{name}: {cell:?}");
            }
        }
        let customers: Vec<&str> = rows.iter().map(|r| r["customerId"].as_str()).filter(|c| *c != "alice").collect();
        let expected: Vec<String> = hostile.iter().map(|c| format!("'{c}")).collect();
        assert_eq!(customers.len(), hostile.len(), "{name}");
        assert!(customers.iter().all(|c| expected.iter().any(|e| e == c)), "{name}: {customers:?}");
    }
}

#[tokio::test]
async fn the_ledger_for_a_day_equals_the_providers_with_what_was_pending_shown_as_pending() {
    // Arrange: no webhooks, so a lost answer stays PENDING until the reconciler asks.
    let app = spawn_app_with(|emulator| emulator.webhook = None).await;
    let today = Timestamp::now().day();
    let pay = async |amount: i64, source: &str| {
        let order = crate::money_faults::confirmed(&app).await;
        let reply = app
            .request("POST", "/payments")
            .json(&crate::money_faults::payment_body(&order, amount, source))
            .send()
            .await;
        reply.body["paymentId"].as_str().unwrap().to_owned()
    };
    let captured = pay(1000, "tok_visa").await;
    pay(700, "tok_timeout").await;
    let refund = app
        .request("POST", &format!("/payments/{captured}/refund"))
        .json(&serde_json::json!({"amount": 300}))
        .send()
        .await;
    assert_eq!(refund.status, 201, "{refund:?}");

    // Act: the day so far, with the lost answer still pending; then after the reconciler.
    let pending = run(&app, &today).await;
    app.reconcile(crate::money_faults::LATER_MS).await;
    let settled = run(&app, &today).await;

    // Assert: compared movement by movement; the pending one in flight, then compared once settled.
    let books = &pending.reconciliation["USD"];
    assert_eq!((books.captured, books.provider_captured, books.in_flight), (1000, 1000, 1));
    assert_eq!((books.refunded, books.provider_refunded), (300, 300));
    assert!(books.balanced && pending.mismatches.is_empty(), "{pending:?}");
    assert_eq!((pending.paid["USD"], pending.pending.captures["USD"]), (1000, 700));
    let books = &settled.reconciliation["USD"];
    assert_eq!((books.captured, books.provider_captured, books.in_flight), (1700, 1700, 0));
    assert!(books.balanced);
    assert_eq!(settled.net["USD"], 1400);
}
