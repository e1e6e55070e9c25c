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
use platform::store::{Begun, PaymentSettlement, RefundSettlement, StoredPayment};

use crate::helpers::{TestApp, spawn_app};

pub(crate) fn t(at: &str) -> Timestamp {
    Timestamp::parse(at).unwrap()
}

/// An order of alice's created at `at`, taken through the store to `status` the way the platform would.
pub(crate) async fn seed(
    app: &TestApp,
    at: &str,
    currency: &str,
    unit_price: i64,
    status: OrderStatus,
    reason: &str,
) -> Order {
    seed_as(app, "alice", at, currency, unit_price, status, reason).await
}

pub(crate) async fn seed_as(
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
    let store = &app.harness.store;
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
pub(crate) async fn capture(app: &TestApp, order: &Order, at: Timestamp) -> Payment {
    let payments = &app.harness.payments.payments;
    let caller = Caller::from_claims(Some(order.customer_id.as_str()), None).unwrap();
    let mut payment =
        Payment::pending(PaymentId::new(), (&order.order_id, &order.customer_id), order.total, order.currency, at);
    let begun = StoredPayment::new(payment.clone(), "tok_visa".into());
    assert!(matches!(payments.begin(&caller, order, &begun).await.unwrap(), Begun::Started));
    let capture = Capture { intent: "pi_seed".into(), charge: "ch_seed".into() };
    payments.settle(&payment, &PaymentSettlement::Captured(capture), at).await.unwrap().expect("settled");
    payment.status = PaymentStatus::Captured;
    payment
}

/// A refund of `amount`, begun and succeeded at `at`.
pub(crate) async fn refund(app: &TestApp, payment: &Payment, amount: i64, at: Timestamp) -> Refund {
    let payments = &app.harness.payments.payments;
    let refund = Refund::pending(RefundId::new(), payment.payment_id, amount, None, at);
    assert!(matches!(payments.begin_refund(payment, &refund).await.unwrap(), Begun::Started));
    let succeeded = RefundSettlement::Succeeded { provider_id: "re_seed".into() };
    payments.settle_refund(payment, &refund, &succeeded, at).await.unwrap().expect("settled");
    refund
}

fn report(app: &TestApp, page_size: Option<i32>) -> Report<S3Exports, StripeProvider> {
    Report { page_size, ..app.app.function("daily-report").report.clone() }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Runs the report for one day, as the schedule would.
pub(crate) async fn run(app: &TestApp, date: &str) -> daily_report::Summary {
    daily_report::run(&app.app.function("daily-report").report, day(date)).await.unwrap()
}

pub(crate) async fn object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    let s3 = platform::aws::s3(&app.sdk);
    let output = s3.get_object().bucket(&app.resources.bucket).key(key).send().await.ok()?;
    Some(output.body.collect().await.unwrap().into_bytes().to_vec())
}

/// The CSV's rows as header -> value maps.
pub(crate) fn rows(csv: &[u8]) -> Vec<BTreeMap<String, String>> {
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
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list_keys(prefix).await
    }
    async fn delete_object(&self, key: &str) -> Result<()> {
        self.inner.delete_object(key).await
    }
}

#[tokio::test]
async fn a_failure_in_the_middle_of_the_upload_leaves_no_object_and_no_pending_upload() {
    // Arrange: enough rows for several small parts; the third part fails.
    let app = spawn_app().await;
    for i in 0..30 {
        seed(&app, &format!("2026-11-25T08:00:{i:02}.000Z"), "USD", 100, OrderStatus::Pending, "").await;
    }
    let report = app.app.function("daily-report").report.clone();
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

    let scheduled = daily_report::handle(
        &app.app.function("daily-report").report,
        &fixture("daily-report-scheduled.json"),
        Timestamp::now(),
    )
    .await;
    let backfill = daily_report::handle(
        &app.app.function("daily-report").report,
        &fixture("daily-report-backfill.json"),
        Timestamp::now(),
    )
    .await;

    let Ok(Reported::Day(scheduled)) = scheduled else { panic!("one day: {scheduled:?}") };
    assert_eq!(scheduled.date, "2026-11-25");
    let Ok(Reported::Days { days }) = backfill else { panic!("a backfill: {backfill:?}") };
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-11-23", "2026-11-24", "2026-11-25"]);
    for date in dates {
        assert!(object(&app, &format!("reports/daily/{date}/summary.json")).await.is_some(), "{date}");
    }
}
