use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn get_payment_returns_it_with_its_refunds_in_order() {
    let app = spawn_app().await;
    let order = app.confirmed_order("alice").await["orderId"].as_str().unwrap().to_owned();
    let payment = app.pay("alice", &order, 2599).await.body;
    let id = payment["paymentId"].as_str().unwrap();
    let refund_path = format!("/payments/{id}/refund");
    let first =
        app.request("POST", &refund_path).json(&json!({"amount": 100, "reason": "scratched"})).send().await.body;
    let second = app.request("POST", &refund_path).json(&json!({"amount": 200})).send().await.body;

    let reply = app.request("GET", &format!("/payments/{id}")).send().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["refunded"], 300);
    assert_eq!(reply.body["refunds"], json!([first, second]));
    assert_eq!(reply.body["amount"], payment["amount"]);
}

#[tokio::test]
async fn get_payment_of_another_customer_or_a_missing_one_is_not_found() {
    let app = spawn_app().await;
    let order = app.confirmed_order("bob").await["orderId"].as_str().unwrap().to_owned();
    let bobs = app.pay("bob", &order, 2599).await.body["paymentId"].as_str().unwrap().to_owned();

    let theirs = app.request("GET", &format!("/payments/{bobs}")).send().await;
    let missing = app.request("GET", &format!("/payments/{}", uuid::Uuid::new_v4())).send().await;
    let admin = app.request("GET", &format!("/payments/{bobs}")).admin().send().await;

    assert_eq!((theirs.status, missing.status, admin.status), (404, 404, 200));
    assert_eq!(theirs.body, missing.body);
    assert_eq!(missing.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn get_payment_with_a_malformed_id_is_a_bad_request() {
    let app = spawn_app().await;

    let reply = app.request("GET", "/payments/PAYMENT%23x").send().await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["field"], "id");
}
