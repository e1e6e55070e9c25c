//! Hostile and malformed input: always a 4xx in the contract's shape, and nothing written.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn malformed_order_bodies_are_rejected_with_the_field_at_fault_and_write_nothing() {
    let app = spawn_app().await;
    let item = json!({"sku": "A", "quantity": 1, "unitPrice": 1});
    let with = |field: &str, value: serde_json::Value| {
        let mut body = json!({"currency": "USD", "items": [item.clone()]});
        body[field] = value;
        body.to_string()
    };
    let with_item = |field: &str, value: serde_json::Value| {
        let mut line = item.clone();
        line[field] = value;
        json!({"currency": "USD", "items": [line]}).to_string()
    };
    let many_items = |n: usize| json!({"currency": "USD", "items": vec![item.clone(); n]}).to_string();

    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        ("truncated JSON", String::from("{\"currency\": \"USD\", \"items\": ["), 400, "VALIDATION_FAILED", "body"),
        ("empty body", String::new(), 400, "VALIDATION_FAILED", "body"),
        ("JSON null", "null".into(), 400, "VALIDATION_FAILED", "body"),
        ("a JSON array", "[]".into(), 400, "VALIDATION_FAILED", "body"),
        ("missing currency", json!({"items": [item.clone()]}).to_string(), 400, "VALIDATION_FAILED", "currency"),
        ("missing items", json!({"currency": "USD"}).to_string(), 400, "VALIDATION_FAILED", "items"),
        ("items not a list", with("items", json!({"sku": "A"})), 400, "VALIDATION_FAILED", "items"),
        ("currency a number", with("currency", json!(840)), 400, "VALIDATION_FAILED", "currency"),
        ("unknown currency", with("currency", json!("XXX")), 400, "VALIDATION_FAILED", "currency"),
        ("unknown field", with("discount", json!(5)), 400, "VALIDATION_FAILED", "discount"),
        ("quantity a string", with_item("quantity", json!("2")), 400, "VALIDATION_FAILED", "items[0].quantity"),
        ("quantity a float", with_item("quantity", json!(1.5)), 400, "VALIDATION_FAILED", "items[0].quantity"),
        ("negative quantity", with_item("quantity", json!(-1)), 400, "VALIDATION_FAILED", "items[0].quantity"),
        ("zero quantity", with_item("quantity", json!(0)), 400, "VALIDATION_FAILED", "items[0].quantity"),
        ("absurd quantity", with_item("quantity", json!(1e30)), 400, "VALIDATION_FAILED", "items[0].quantity"),
        ("negative price", with_item("unitPrice", json!(-5)), 400, "VALIDATION_FAILED", "items[0].unitPrice"),
        (
            "price over the limit",
            with_item("unitPrice", json!(100_000_001)),
            400,
            "VALIDATION_FAILED",
            "items[0].unitPrice",
        ),
        ("sku with a key separator", with_item("sku", json!("A#B")), 400, "VALIDATION_FAILED", "items[0].sku"),
        ("sku too long", with_item("sku", json!("A".repeat(65))), 400, "VALIDATION_FAILED", "items[0].sku"),
        ("unknown item field", with_item("colour", json!("red")), 400, "VALIDATION_FAILED", "items[0].colour"),
        ("no items", with("items", json!([])), 400, "VALIDATION_FAILED", "items"),
        ("101 items", many_items(101), 400, "VALIDATION_FAILED", "items"),
        ("customerId with #", with("customerId", json!("alice#ORDER")), 400, "VALIDATION_FAILED", "customerId"),
        ("a body over 64 KiB", many_items(2000), 413, "PAYLOAD_TOO_LARGE", ""),
    ];

    for (name, body, status, code, field) in cases {
        let reply = app.request("POST", "/orders").raw(body.as_bytes(), "application/json").send().await;

        assert_eq!(reply.status, status, "{name}: {reply:?}");
        assert_eq!(reply.error_code(), code, "{name}");
        if !field.is_empty() {
            assert_eq!(reply.body["details"][0]["field"], field, "{name}: {reply:?}");
        }
    }
    assert_eq!(app.item_count().await, 0);
    assert!(app.queued_events().await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_unsupported_media_type() {
    let app = spawn_app().await;

    let form = app.request("POST", "/orders").raw(b"currency=USD", "application/x-www-form-urlencoded").send().await;
    let text = app.request("POST", "/orders").raw(b"{}", "text/plain").send().await;

    assert_eq!((form.status, text.status), (415, 415));
    assert_eq!(form.error_code(), "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn binary_garbage_is_a_bad_request() {
    let app = spawn_app().await;

    let reply = app.request("POST", "/orders").raw(&[0xff, 0xfe, 0x00, 0x7b], "application/json").send().await;

    assert_eq!(reply.status, 400);
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn ids_that_try_to_reach_other_keys_are_bad_requests() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();

    for path in [
        format!("/orders/{id}%23METADATA"),
        "/orders/CUSTOMER%23alice".to_owned(),
        format!("/orders/%20{id}"),
        "/orders/..".to_owned(),
    ] {
        let get = app.request("GET", &path).send().await;
        let put = app.request("PUT", &path).json(&crate::helpers::order_body()).send().await;
        let delete = app.request("DELETE", &path).send().await;

        assert_eq!((get.status, put.status, delete.status), (400, 400, 400), "{path}");
    }
}
