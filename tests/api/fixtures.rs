//! The `events/` fixtures are real payload 2.0 events that reach their handlers intact: the
//! same files `cargo lambda invoke --data-file` takes.

use crate::helpers::spawn_app;

fn fixture(name: &str) -> lambda_http::Request {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path} is not an API Gateway event: {e}"))
}

/// The function's handler on its fixture, `events/<binary>.json`, with its own clients.
async fn call(app: &server::App, binary: &str) -> lambda_http::Response<lambda_http::Body> {
    app.invoke(binary, fixture(&format!("{binary}.json"))).await.expect("a function of the template")
}

fn status_and_body(response: lambda_http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, serde_json::from_slice(response.body().as_ref()).unwrap())
}

#[tokio::test]
async fn every_fixture_reaches_its_handler_as_the_customer_it_names() {
    let test = spawn_app().await;
    let app = &test.app;

    let (status, created) = status_and_body(call(app, "orders-create").await);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["customerId"], "alice");
    assert_eq!(created["total"], 2599);

    let (status, listed) = status_and_body(call(app, "orders-list").await);
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["orders"][0]["orderId"], created["orderId"]);

    // The fixtures name an order that does not exist here: found, parsed, and authorized, then 404.
    for response in [
        call(app, "orders-get").await,
        call(app, "orders-update").await,
        call(app, "orders-cancel").await,
        call(app, "payments-create").await,
    ] {
        let (status, body) = status_and_body(response);
        assert_eq!((status, body["error"].as_str()), (404, Some("Order not found")), "{body}");
    }
    for response in [call(app, "payments-get").await, call(app, "payments-refund").await] {
        let (status, body) = status_and_body(response);
        assert_eq!((status, body["error"].as_str()), (404, Some("Payment not found")), "{body}");
    }
}
