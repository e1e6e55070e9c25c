//! What operators read: JSON log lines with correlation ids and no secrets, and EMF metrics.

use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::helpers::{logs, order_body, spawn_app};

/// Every EMF document emitted by this test process, as they are printed.
fn metrics() -> &'static Mutex<Vec<Value>> {
    static DOCUMENTS: OnceLock<Mutex<Vec<Value>>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        platform::metrics::redirect(|line| metrics().lock().unwrap().push(serde_json::from_str(line).unwrap()));
        Mutex::default()
    })
}

#[tokio::test]
async fn a_request_logs_one_access_line_with_its_correlation_id_and_customer_and_no_token() {
    let app = spawn_app().await;
    let secret = "Bearer eyJ-very-secret-token";
    let customer = format!("telemetry-{}", uuid::Uuid::new_v4().simple());

    let reply = app
        .request("POST", "/orders")
        .customer(&customer)
        .header("authorization", secret)
        .json(&order_body())
        .send()
        .await;

    assert_eq!(reply.status, 201);
    let lines = logs();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request handled" && l["span"]["customer_id"] == customer.as_str())
        .collect();
    assert_eq!(access.len(), 1, "{lines:#?}");
    let span = &access[0]["span"];
    assert_eq!(span["name"], "request");
    assert!(span["correlation_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(span["cold_start"].is_boolean());
    assert_eq!(access[0]["fields"]["status"], 201);
    let everything = serde_json::to_string(&lines).unwrap();
    assert!(!everything.contains("very-secret"), "a token reached the logs");
    assert!(!everything.contains("SKU-1"), "a request body reached the logs");
}

#[tokio::test]
async fn money_and_orders_are_counted_as_embedded_metrics() {
    let documents = metrics();
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let payment = app.pay("alice", &order, 2599).await.body["paymentId"].as_str().unwrap().to_owned();

    let ours: Vec<Value> =
        documents.lock().unwrap().iter().filter(|d| d["orderId"] == order.as_str()).cloned().collect();

    let created = ours.iter().find(|d| d.get("OrdersCreated").is_some()).expect("OrdersCreated emitted");
    assert_eq!(created["OrdersCreated"], 1);
    let definition = &created["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(definition["Namespace"], "OrdersPlatform");
    assert_eq!(definition["Dimensions"], serde_json::json!([["FunctionName", "Currency"]]));
    assert_eq!(definition["Metrics"][0], serde_json::json!({"Name": "OrdersCreated", "Unit": "Count"}));
    assert!(created["_aws"]["Timestamp"].is_i64() && created["FunctionName"].is_string());

    let captured = ours.iter().find(|d| d.get("PaymentsCaptured").is_some()).expect("PaymentsCaptured emitted");
    assert_eq!((captured["PaymentsCaptured"].as_i64(), captured.get("Currency")), (Some(1), None));
    assert_eq!(captured["paymentId"], payment.as_str());
    let amount = ours.iter().find(|d| d.get("PaymentAmount").is_some()).expect("PaymentAmount emitted");
    assert_eq!((amount["PaymentAmount"].as_i64(), amount["Currency"].as_str()), (Some(2599), Some("USD")));
}
