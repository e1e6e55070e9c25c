use crate::helpers::spawn_app;

#[tokio::test]
async fn get_order_returns_the_stored_order() {
    let app = spawn_app().await;
    let created = app.create_order("alice").await;
    let id = created["orderId"].as_str().unwrap();

    let reply = app.request("GET", &format!("/orders/{id}")).send().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, created);
}

#[tokio::test]
async fn get_order_of_another_customer_looks_like_a_missing_order() {
    let app = spawn_app().await;
    let id = app.create_order("bob").await["orderId"].as_str().unwrap().to_owned();

    let theirs = app.request("GET", &format!("/orders/{id}")).customer("alice").send().await;
    let missing = app.request("GET", &format!("/orders/{}", uuid::Uuid::new_v4())).customer("alice").send().await;

    assert_eq!((theirs.status, missing.status), (404, 404));
    assert_eq!(theirs.body, missing.body);
    assert_eq!(missing.body["error"], "Order not found");
    assert_eq!(missing.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn an_admin_can_read_any_order() {
    let app = spawn_app().await;
    let id = app.create_order("bob").await["orderId"].as_str().unwrap().to_owned();

    let reply = app.request("GET", &format!("/orders/{id}")).admin().send().await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["customerId"], "bob");
}

#[tokio::test]
async fn get_order_with_a_malformed_id_is_a_bad_request() {
    let app = spawn_app().await;
    for id in ["not-a-uuid", "ORDER%23x", "A0B6A3F4-8F1E-4C1A-9D55-2B7C1F9E6A10", "0b6a3f4e8f1e4c1a9d552b7c1f9e6a10"] {
        let reply = app.request("GET", &format!("/orders/{id}")).send().await;

        assert_eq!(reply.status, 400, "{id}");
        assert_eq!(reply.error_code(), "VALIDATION_FAILED");
        assert_eq!(reply.body["details"][0]["field"], "id");
    }
}

#[tokio::test]
async fn get_order_without_a_token_is_unauthorized() {
    let app = spawn_app().await;
    let id = app.create_order("alice").await["orderId"].as_str().unwrap().to_owned();

    let reply = app.request("GET", &format!("/orders/{id}")).anonymous().send().await;

    assert_eq!(reply.status, 401);
}
