//! The daily report when the provider cannot be reached: the day's files are written all the same,
//! its reconciliation is marked pending, and the next scheduled run after the provider answers
//! completes it.

use platform::domain::{OrderStatus, Timestamp};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::report::{object, seed};

/// What EventBridge sends for the nightly run that fires at `time`.
fn scheduled(time: &str) -> Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": time, "detail": {}})
}

#[tokio::test]
async fn a_day_reported_during_an_outage_is_written_and_its_reconciliation_completed_by_a_later_run() {
    // Arrange: an order on the 25th; the provider unreachable when the 26th's run reports it.
    let app = spawn_app().await;
    let report = &app.app.function("daily-report").report;
    seed(&app, "2026-11-25T08:00:00.000Z", "USD", 1250, OrderStatus::Pending, "").await;
    app.emulator_control("/_emulator/outage", json!({"seconds": 3600})).await;
    let marker = "reports/reconciliation-pending/2026-11-25";
    let summary = |app| async move {
        let bytes = object(app, "reports/daily/2026-11-25/summary.json").await.expect("a summary");
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };

    // Act: the run during the outage, then the next night's, with the provider back.
    let during = daily_report::handle(report, &scheduled("2026-11-26T00:05:00Z"), Timestamp::now()).await;
    let orders_during = object(&app, "reports/daily/2026-11-25/orders.csv").await;
    let pending = summary(&app).await;
    let marked = object(&app, marker).await.is_some();
    app.emulator_control("/_emulator/outage", json!({"seconds": 0})).await;
    let after = daily_report::handle(report, &scheduled("2026-11-27T00:05:00Z"), Timestamp::now()).await;

    // Assert: the files were there at once; the reconciliation was pending, then done.
    assert!(during.is_ok() && after.is_ok(), "{during:?} {after:?}");
    assert_eq!(
        (pending["reconciliationPending"].as_bool(), pending["orders"]["count"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(pending["reconciliation"], json!({}), "no figures without the provider's side");
    assert!(marked, "the day was marked pending");
    let done = summary(&app).await;
    assert_eq!(done["reconciliationPending"], false, "{done}");
    assert!(object(&app, marker).await.is_none(), "the marker is gone once reconciled");
    assert_eq!(object(&app, "reports/daily/2026-11-25/orders.csv").await, orders_during, "the same bytes");
    assert!(object(&app, "reports/daily/2026-11-26/summary.json").await.is_some(), "the next day reported too");
}
