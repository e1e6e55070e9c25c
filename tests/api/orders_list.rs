use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn list(app: &TestApp, query: &str) -> crate::helpers::Reply {
    app.request("GET", &format!("/orders?{query}")).send().await
}

fn ids(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn list_orders_pages_through_a_customers_orders_newest_first() {
    // Arrange: five orders of alice's and one of bob's.
    let app = spawn_app().await;
    let mut created = vec![];
    for _ in 0..5 {
        created.push(app.create_order("alice").await["orderId"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    app.create_order("bob").await;
    created.reverse();

    // Act: pages of two.
    let first = list(&app, "customerId=alice&limit=2").await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let second = list(&app, &format!("customerId=alice&limit=2&cursor={cursor}")).await;
    let cursor = second.body["nextCursor"].as_str().unwrap().to_owned();
    let third = list(&app, &format!("customerId=alice&limit=2&cursor={cursor}")).await;

    // Assert
    assert_eq!(first.status, 200);
    assert_eq!([ids(&first), ids(&second), ids(&third)].concat(), created);
    assert_eq!(third.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn a_page_that_ends_exactly_at_the_last_order_has_no_next_cursor() {
    let app = spawn_app().await;
    app.create_order("alice").await;
    app.create_order("alice").await;

    let reply = list(&app, "customerId=alice&limit=2").await;

    assert_eq!(ids(&reply).len(), 2);
    assert_eq!(reply.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn list_orders_defaults_to_twenty() {
    let app = spawn_app().await;
    for _ in 0..21 {
        app.create_order("alice").await;
    }

    let reply = list(&app, "customerId=alice").await;

    assert_eq!(ids(&reply).len(), 20);
    assert!(reply.body["nextCursor"].is_string());
}

#[tokio::test]
async fn list_orders_rejects_a_missing_customer_bad_limits_and_forged_cursors() {
    let app = spawn_app().await;
    app.create_order("alice").await;
    app.create_order("alice").await;
    let cursor = list(&app, "customerId=alice&limit=1").await.body["nextCursor"].as_str().unwrap().to_owned();
    let mut forged = cursor.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();

    for (query, field) in [
        ("limit=5".to_owned(), "customerId"),
        ("customerId=alice&limit=0".into(), "limit"),
        ("customerId=alice&limit=101".into(), "limit"),
        ("customerId=alice&limit=ten".into(), "limit"),
        ("customerId=alice&limit=-1".into(), "limit"),
        (format!("customerId=alice&cursor={forged}"), "cursor"),
        ("customerId=alice&cursor=garbage".into(), "cursor"),
        ("customerId=a%23b".into(), "customerId"),
    ] {
        let reply = list(&app, &query).await;

        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.error_code(), "VALIDATION_FAILED");
        assert_eq!(reply.body["details"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_cursor_of_one_customer_cannot_page_another_customers_orders() {
    let app = spawn_app().await;
    app.create_order("bob").await;
    app.create_order("bob").await;
    let cursor = app.request("GET", "/orders?customerId=bob&limit=1").admin().send().await.body["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let reply = list(&app, &format!("customerId=alice&cursor={cursor}")).await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["details"][0]["field"], "cursor");
}

#[tokio::test]
async fn customers_list_only_their_own_orders_and_admins_anyones() {
    let app = spawn_app().await;
    app.create_order("bob").await;

    let as_alice = list(&app, "customerId=bob").await;
    let as_admin = app.request("GET", "/orders?customerId=bob").admin().send().await;
    let admin_without_customer = app.request("GET", "/orders").admin().send().await;

    assert_eq!(as_alice.status, 403);
    assert_eq!(as_alice.error_code(), "FORBIDDEN");
    assert_eq!(as_admin.status, 200);
    assert_eq!(ids(&as_admin).len(), 1);
    assert_eq!(admin_without_customer.status, 400);
}

#[tokio::test]
async fn a_page_is_filled_across_short_dynamodb_pages_and_only_the_last_has_no_cursor() {
    // Arrange: five orders, and DynamoDB answering one item per query (as its 1 MB cap would
    // with large orders).
    let app = spawn_app().await;
    for _ in 0..5 {
        app.create_order("alice").await;
    }
    let customer = platform::domain::CustomerId::parse("c", "alice").unwrap();
    let page =
        |after| platform::store::PageRequest { customer: customer.clone(), limit: 3, after, query_items: Some(1) };

    // Act
    let first = app.app.function("orders-list").store.list(page(None)).await.unwrap();
    let second = app.app.function("orders-list").store.list(page(first.last.clone())).await.unwrap();

    // Assert
    assert_eq!(first.orders.len(), 3);
    assert!(first.last.is_some(), "more orders follow");
    assert_eq!(second.orders.len(), 2);
    assert!(second.last.is_none());
}

#[tokio::test]
async fn a_signed_cursor_with_odd_key_fields_is_refused_before_it_reaches_dynamodb() {
    // Arrange: cursors signed with the deployment's key (as if it had leaked) but shaped wrongly.
    let app = spawn_app().await;
    app.create_order("alice").await;
    let signer = platform::cursor::CursorSigner::new("test-cursor-secret");
    let position = |fields: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let id = uuid::Uuid::new_v4();
    let good_sk = format!("ORDER#2026-11-26T08:31:05.123Z#{id}");
    let pk = format!("ORDER#{id}");
    let odd = [
        position(&[("gsi1pk", "CUSTOMER#alice")]),
        position(&[("pk", "x"), ("sk", "METADATA"), ("gsi1pk", "CUSTOMER#alice"), ("gsi1sk", &good_sk)]),
        position(&[("pk", &pk), ("sk", "OTHER"), ("gsi1pk", "CUSTOMER#alice"), ("gsi1sk", &good_sk)]),
        position(&[("pk", &pk), ("sk", "METADATA"), ("gsi1pk", "CUSTOMER#alice"), ("gsi1sk", "ORDER#zzz")]),
        position(&[("pk", &pk), ("sk", "METADATA"), ("gsi1pk", "CUSTOMER#alice"), ("gsi1sk", &good_sk), ("x", "y")]),
    ];
    let well_formed = position(&[("pk", &pk), ("sk", "METADATA"), ("gsi1pk", "CUSTOMER#alice"), ("gsi1sk", &good_sk)]);

    for cursor in odd {
        // Act
        let reply = list(&app, &format!("customerId=alice&cursor={}", signer.encode(&cursor))).await;

        // Assert
        assert_eq!((reply.status, reply.body["details"][0]["field"].as_str()), (400, Some("cursor")), "{cursor:?}");
    }
    assert_eq!(list(&app, &format!("customerId=alice&cursor={}", signer.encode(&well_formed))).await.status, 200);
}
