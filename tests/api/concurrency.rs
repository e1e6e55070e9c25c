//! One function process under concurrent invocations, as Lambda Managed Instances runs it: the real
//! `orders-create` binary (scripts/test builds it) under a Lambda Runtime API emulator, with
//! `AWS_LAMBDA_MAX_CONCURRENCY`, given 32 orders at once. Each is created exactly once, with its
//! own id and item, whatever else the process is doing; without the variable the same
//! binary takes one invocation at a time, as on-demand Lambda gives them.

use std::path::PathBuf;
use std::process::Stdio;

use local::runtime_api::RuntimeApi;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

const ORDERS: usize = 32;

pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(path.exists(), "{} is not built: cargo build --workspace --bins (scripts/test does)", path.display());
    path
}

/// The function's process, as Lambda starts it, signing as itself.
fn start(app: &TestApp, api: &RuntimeApi, max_concurrency: Option<usize>) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(binary("orders-create"));
    command
        .env_clear()
        .envs(local::runtime_api::lambda_env(api.addr, "orders-create", 2048))
        .env("AWS_REGION", "us-east-1")
        .env("ORDERS_TABLE", &app.resources.table)
        .env("ORDER_QUEUE_URL", &app.resources.queue_url)
        .envs(local::identity::function_env("orders-create", &app.resources))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    if let Some(n) = max_concurrency {
        command.env(platform::lambda::MAX_CONCURRENCY, n.to_string());
    }
    command.spawn().expect("the function starts")
}

/// The fixture's create, with its own key and item.
fn order(i: usize) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../events/orders-create.json")).unwrap();
    event["headers"]["idempotency-key"] = format!("concurrency-{i}-{}", uuid::Uuid::new_v4()).into();
    let body = serde_json::json!({"items": [{"sku": format!("SKU-{i}"), "quantity": 1, "unitPrice": 100 + i}], "currency": "EUR"});
    event["body"] = body.to_string().into();
    event
}

/// Invokes `ORDERS` creates at once; the ids of the orders made, and the most held at once.
async fn create_at_once(max_concurrency: Option<usize>) -> (TestApp, Vec<String>, usize) {
    let app = spawn_app().await;
    let api = RuntimeApi::start().await.unwrap();
    let mut function = start(&app, &api, max_concurrency);
    let answers = tokio::select! {
        answers = futures::future::join_all((0..ORDERS).map(|i| api.invoke(order(i)))) => answers,
        exit = function.wait() => panic!("the function exited: {exit:?}"),
    };
    let mut ids = vec![];
    for answer in answers {
        let answer = answer.expect("the function answered");
        assert_eq!(answer["statusCode"], 201, "{answer}");
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or_else(|| panic!("{answer}"))).unwrap();
        ids.push(body["orderId"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned());
    }
    let most = api.most_at_once().await;
    (app, ids, most)
}

#[tokio::test]
async fn one_process_serves_concurrent_invocations_each_exactly_once() {
    let (app, mut ids, most_at_once) = create_at_once(Some(8)).await;

    assert!(most_at_once > 1 && most_at_once <= 8, "held {most_at_once} at once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ORDERS, "every create made its own order");
    for id in &ids {
        let id = platform::domain::OrderId::parse("id", id).unwrap();
        let order = app.harness.store.get(&id).await.unwrap().unwrap_or_else(|| panic!("order {id} not stored"));
        assert_eq!(order.items.len(), 1);
    }
}

#[tokio::test]
async fn without_the_variable_the_process_takes_one_invocation_at_a_time() {
    let (_app, ids, most_at_once) = create_at_once(None).await;
    assert_eq!(most_at_once, 1);
    assert_eq!(ids.len(), ORDERS);
}
