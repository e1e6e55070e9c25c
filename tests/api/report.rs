//! The daily report against the emulator: the right day's orders, exactly once each, correct
//! totals, a CSV that survives hostile values, and no trace of a failed run.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use daily_report::{Report, Reported};
use platform::domain::{
    Caller, LineItemInput, Lines, Order, OrderId, OrderStatus, Payment, PaymentId, PaymentStatus, Refund, RefundId,
    Timestamp,
};
use platform::exports::{ExportSink, S3Exports};
use platform::{Error, Result};
use serde_json::Value;

use platform::payment_provider::{Capture, StripeProvider};
use platform::store::{Begun, PaymentSettlement, RefundSettlement};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn t(at: &str) -> Timestamp {
    Timestamp::parse(at).unwrap()
}

/// An order of alice's created at `at`, taken through the store to `status` the way the platform would.
async fn seed(app: &TestApp, at: &str, currency: &str, unit_price: i64, status: OrderStatus, reason: &str) -> Order {
    seed_as(app, "alice", at, currency, unit_price, status, reason).await
}

async fn seed_as(
    app: &TestApp,
    customer: &str,
    at: &str,
    currency: &str,
    unit_price: i64,
    status: OrderStatus,
    reason: &str,
) -> Order {
    let t = t(at);
    let caller = Caller::from_claims(Some(customer), None).unwrap();
    let input = [LineItemInput { sku: "SKU-1".into(), quantity: 2, unit_price }];
    let order = Order::new(OrderId::new(), caller.customer_id.clone(), Lines::parse(currency, &input).unwrap(), t);
    let store = &app.app.store;
    store.create(&order).await.unwrap();
    let id = order.order_id;
    match status {
        OrderStatus::Pending => {}
        OrderStatus::Rejected => {
            store.decide(&id, 1, Err(reason.to_owned()), t).await.unwrap();
        }
        OrderStatus::Cancelled => {
            store.cancel(&caller, &id, t).await.unwrap();
        }
        _ => {
            store.decide(&id, 1, Ok(()), t).await.unwrap();
        }
    }
    if matches!(status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded) {
        let seen = store.get(&id).await.unwrap().unwrap();
        let payment = capture(app, &seen, t).await;
        if status != OrderStatus::Paid {
            let amount = if status == OrderStatus::Refunded { seen.total } else { seen.total / 4 };
            refund(app, &payment, amount, t).await;
        }
    }
    let stored = store.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, status);
    stored
}

/// A payment of the order's total, begun and captured at `at` (as if the provider answered at once).
async fn capture(app: &TestApp, order: &Order, at: Timestamp) -> Payment {
    let payments = &app.app.payments.payments;
    let caller = Caller::from_claims(Some(order.customer_id.as_str()), None).unwrap();
    let mut payment =
        Payment::pending(PaymentId::new(), (&order.order_id, &order.customer_id), order.total, order.currency, at);
    assert!(matches!(payments.begin(&caller, order, &payment, "tok_visa").await.unwrap(), Begun::Started));
    let capture = Capture { intent: "pi_seed".into(), charge: "ch_seed".into() };
    payments.settle(&payment, &PaymentSettlement::Captured(capture), at).await.unwrap().expect("settled");
    payment.status = PaymentStatus::Captured;
    payment
}

/// A refund of `amount`, begun and succeeded at `at`.
async fn refund(app: &TestApp, payment: &Payment, amount: i64, at: Timestamp) -> Refund {
    let payments = &app.app.payments.payments;
    let refund = Refund::pending(RefundId::new(), payment.payment_id, amount, None, at);
    assert!(matches!(payments.begin_refund(payment, &refund).await.unwrap(), Begun::Started));
    let succeeded = RefundSettlement::Succeeded { provider_id: "re_seed".into() };
    payments.settle_refund(payment, &refund, &succeeded, at).await.unwrap().expect("settled");
    refund
}

fn report(app: &TestApp, page_size: Option<i32>) -> Report<S3Exports, StripeProvider> {
    Report { page_size, ..app.app.report.clone() }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Runs the report for one day, as the schedule would.
async fn run(app: &TestApp, date: &str) -> daily_report::Summary {
    daily_report::run(&app.app.report, day(date)).await.unwrap()
}

async fn object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    let s3 = platform::aws::s3(&app.sdk);
    let output = s3.get_object().bucket(&app.resources.bucket).key(key).send().await.ok()?;
    Some(output.body.collect().await.unwrap().into_bytes().to_vec())
}

/// The CSV's rows as header -> value maps.
fn rows(csv: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_owned)).collect()).collect()
}

#[tokio::test]
async fn the_report_for_a_day_has_exactly_that_days_orders_and_correct_totals() {
    // Arrange: every status on the middle day, in two currencies; a few orders either side.
    let app = spawn_app().await;
    let statuses = OrderStatus::ALL;
    let mut day = vec![];
    for (i, status) in statuses.iter().enumerate() {
        let at = format!("2026-11-25T{:02}:15:00.000Z", i + 1);
        day.push(seed(&app, &at, "USD", 1000 + i as i64, *status, "over limit").await);
        day.push(seed(&app, &at, "EUR", 500, *status, "over limit").await);
    }
    seed(&app, "2026-11-24T23:59:59.999Z", "USD", 7777, OrderStatus::Paid, "").await;
    seed(&app, "2026-11-26T00:00:00.000Z", "USD", 8888, OrderStatus::Pending, "").await;

    // Act
    let summary = run(&app, "2026-11-25").await;

    // Assert: the CSV has each of the day's orders once.
    let csv = object(&app, "reports/daily/2026-11-25/orders.csv").await.expect("the CSV exists");
    let rows = rows(&csv);
    let mut exported: Vec<&str> = rows.iter().map(|r| r["orderId"].as_str()).collect();
    exported.sort();
    let mut expected: Vec<String> = day.iter().map(|o| o.order_id.to_string()).collect();
    expected.sort();
    assert_eq!(exported, expected);

    // Assert: totals computed here, independently, from what was seeded.
    let mut gross: BTreeMap<String, i64> = BTreeMap::new();
    let (mut paid, mut refunded): (BTreeMap<String, i64>, BTreeMap<String, i64>) = Default::default();
    for o in &day {
        let c = o.currency.to_string();
        if !matches!(o.status, OrderStatus::Rejected | OrderStatus::Cancelled) {
            *gross.entry(c.clone()).or_default() += o.total;
        }
        *paid.entry(c.clone()).or_default() += o.paid;
        *refunded.entry(c).or_default() += o.refunded;
    }
    let json: Value =
        serde_json::from_slice(&object(&app, "reports/daily/2026-11-25/summary.json").await.unwrap()).unwrap();
    assert_eq!(json["date"], "2026-11-25");
    assert_eq!(json["orders"]["count"], 14);
    for status in statuses {
        assert_eq!(json["orders"]["byStatus"][status.as_str()], 2, "{status:?}");
    }
    assert_eq!(json["gross"], serde_json::json!(gross));
    assert_eq!(json["paid"], serde_json::json!(paid));
    assert_eq!(json["refunded"], serde_json::json!(refunded));
    let net: BTreeMap<String, i64> = paid.iter().map(|(c, p)| (c.clone(), p - refunded[c])).collect();
    assert_eq!(json["net"], serde_json::json!(net));
    assert_eq!(summary.orders.count, 14);
}

#[tokio::test]
async fn a_day_with_more_orders_than_one_page_exports_each_exactly_once() {
    let app = spawn_app().await;
    let mut expected = vec![];
    for i in 0..45 {
        let at = format!("2026-11-25T10:{:02}:{:02}.000Z", i / 60, i % 60);
        expected.push(seed(&app, &at, "USD", 100, OrderStatus::Pending, "").await.order_id.to_string());
    }

    daily_report::run(&report(&app, Some(2)), day("2026-11-25")).await.unwrap();

    let csv = object(&app, "reports/daily/2026-11-25/orders.csv").await.unwrap();
    let mut exported: Vec<String> = rows(&csv).into_iter().map(|r| r["orderId"].clone()).collect();
    exported.sort();
    expected.sort();
    assert_eq!(exported, expected);
}

#[tokio::test]
async fn hostile_values_round_trip_through_the_csv() {
    let app = spawn_app().await;
    let reasons = ["a, b", "say \"no\"", "two\nlines\r\nhere", "ünïcödé ✓ 注文", "\"\",,\"", " padded "];
    let mut seeded = BTreeMap::new();
    for (i, reason) in reasons.iter().enumerate() {
        let order = seed(&app, &format!("2026-11-25T0{i}:00:00.000Z"), "USD", 10, OrderStatus::Rejected, reason).await;
        seeded.insert(order.order_id.to_string(), (*reason).to_owned());
    }

    run(&app, "2026-11-25").await;

    let csv = object(&app, "reports/daily/2026-11-25/orders.csv").await.unwrap();
    let parsed: BTreeMap<String, String> =
        rows(&csv).into_iter().map(|r| (r["orderId"].clone(), r["rejectionReason"].clone())).collect();
    assert_eq!(parsed, seeded);
    let items: Value = serde_json::from_str(&rows(&csv)[0]["items"]).unwrap();
    assert_eq!(items, serde_json::json!([{"sku": "SKU-1", "quantity": 2, "unitPrice": 10}]));
}

#[tokio::test]
async fn running_a_day_twice_writes_the_same_objects() {
    let app = spawn_app().await;
    for i in 0..20 {
        seed(&app, &format!("2026-11-25T12:00:{i:02}.000Z"), "USD", 100 + i, OrderStatus::Confirmed, "").await;
    }

    let first = run(&app, "2026-11-25").await;
    let csv = object(&app, "reports/daily/2026-11-25/orders.csv").await.unwrap();
    let second = run(&app, "2026-11-25").await;

    assert_eq!(object(&app, "reports/daily/2026-11-25/orders.csv").await.unwrap(), csv);
    assert_eq!(daily_report::Summary { generated_at: first.generated_at, ..second }, first);
}

#[tokio::test]
async fn a_day_without_orders_gets_zeros_and_a_header_only_csv() {
    let app = spawn_app().await;

    run(&app, "2026-11-25").await;

    let csv = object(&app, "reports/daily/2026-11-25/orders.csv").await.unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "\"orderId\",\"customerId\",\"status\",\"currency\",\"total\",\"paid\",\"refunded\",\"items\",\"rejectionReason\",\"createdAt\",\"updatedAt\"\r\n"
    );
    let json: Value =
        serde_json::from_slice(&object(&app, "reports/daily/2026-11-25/summary.json").await.unwrap()).unwrap();
    assert_eq!(json["orders"]["count"], 0);
    assert!(json["orders"]["byStatus"].as_object().unwrap().values().all(|v| v == 0));
    assert_eq!(json["gross"], serde_json::json!({}));
}

/// The real S3 sink, made to fail when it uploads part `fail_at`.
struct FailingPart {
    inner: S3Exports,
    fail_at: i32,
}

impl ExportSink for FailingPart {
    async fn put_object(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        self.inner.put_object(key, bytes, content_type).await
    }
    async fn create_upload(&self, key: &str, content_type: &str) -> Result<String> {
        self.inner.create_upload(key, content_type).await
    }
    async fn upload_part(&self, key: &str, upload: &str, number: i32, part: &Path) -> Result<String> {
        if number == self.fail_at {
            return Err(Error::internal("uploading an export part", "injected failure"));
        }
        self.inner.upload_part(key, upload, number, part).await
    }
    async fn complete_upload(&self, key: &str, upload: &str, etags: &[String]) -> Result<()> {
        self.inner.complete_upload(key, upload, etags).await
    }
    async fn abort_upload(&self, key: &str, upload: &str) -> Result<()> {
        self.inner.abort_upload(key, upload).await
    }
}

#[tokio::test]
async fn a_failure_in_the_middle_of_the_upload_leaves_no_object_and_no_pending_upload() {
    // Arrange: enough rows for several small parts; the third part fails.
    let app = spawn_app().await;
    for i in 0..30 {
        seed(&app, &format!("2026-11-25T08:00:{i:02}.000Z"), "USD", 100, OrderStatus::Pending, "").await;
    }
    let report = app.app.report.clone();
    let failing = Report {
        orders: report.orders,
        payments: report.payments,
        sink: FailingPart { inner: report.sink, fail_at: 3 },
        provider: report.provider,
        page_size: Some(5),
        part_bytes: 1024,
    };

    // Act
    let result = daily_report::run(&failing, day("2026-11-25")).await;

    // Assert
    assert!(result.is_err());
    let s3 = platform::aws::s3(&app.sdk);
    let objects = s3.list_objects_v2().bucket(&app.resources.bucket).send().await.unwrap();
    assert_eq!(objects.key_count(), Some(0), "{:?}", objects.contents());
    let uploads = s3.list_multipart_uploads().bucket(&app.resources.bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
}

#[tokio::test]
async fn the_scheduled_and_backfill_fixtures_report_the_day_they_name() {
    let app = spawn_app().await;
    let fixture = |name: &str| -> Value {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };

    let scheduled =
        daily_report::handle(&app.app.report, &fixture("daily-report-scheduled.json"), Timestamp::now()).await;
    let backfill =
        daily_report::handle(&app.app.report, &fixture("daily-report-backfill.json"), Timestamp::now()).await;

    let Ok(Reported::Day(scheduled)) = scheduled else { panic!("one day: {scheduled:?}") };
    assert_eq!(scheduled.date, "2026-11-25");
    let Ok(Reported::Days { days }) = backfill else { panic!("a backfill: {backfill:?}") };
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-11-23", "2026-11-24", "2026-11-25"]);
    for date in dates {
        assert!(object(&app, &format!("reports/daily/{date}/summary.json")).await.is_some(), "{date}");
    }
}

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
    app.app.store.update_lines(&admin, &pending.order_id, &lines, None, next).await.unwrap();
    app.app.store.cancel(&admin, &pending.order_id, next).await.unwrap();
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

    // Assert
    let books = &pending.reconciliation["USD"];
    assert_eq!((books.captured, books.captures_pending, books.provider_captured), (1000, 700, 1700));
    assert_eq!((books.refunded, books.refunds_pending, books.provider_refunded), (300, 0, 300));
    assert!(books.balanced);
    assert_eq!((pending.paid["USD"], pending.pending.captures["USD"]), (1000, 700));
    let books = &settled.reconciliation["USD"];
    assert_eq!((books.captured, books.captures_pending, books.provider_captured), (1700, 0, 1700));
    assert!(books.balanced);
    assert_eq!(settled.net["USD"], 1400);
}
