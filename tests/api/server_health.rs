//! The container server against the emulator: ready whatever its dependencies do and not ready
//! from the moment it is told to stop, while it still answers; metrics on a port of their own; a
//! slow body or too many connections held off at the edge.

use std::sync::Arc;
use std::time::Duration;

use server::edge::{Edge, Limits, Stop};
use server::{App, Names, Template};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{settings, spawn_app};

async fn status(address: std::net::SocketAddr, path: &str) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n").as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn ready_whatever_the_table_does_and_false_from_the_stop_on() {
    // Arrange: a server whose table is not there yet.
    let test = spawn_app().await;
    let prefix = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let table = format!("{prefix}-orders");
    let names = Names { table: &table, ..test.resources.names() };
    // A container's workload: one identity for every function (unjudged here).
    let app = App::new(|_| test.sdk.clone(), Template::bundled(), names, settings(&test.provider_url));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let timing = Stop { drain: Duration::from_millis(800), grace: Duration::from_secs(5) };
    let edge = Edge::new(Arc::new(app), Arc::new(local::tokens::authorizer("secret")));
    let serving =
        tokio::spawn(server::edge::serve_until(listener, edge, async { stopped.await.unwrap_or(()) }, timing));

    // Act and assert
    assert_eq!(status(address, "/health/live").await, Some(200));
    assert_eq!(status(address, "/health/ready").await, Some(200), "no table: a dependency, not this pod");

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(address, "/health/ready").await, Some(503), "stopping: no new traffic, please");
    assert_eq!(status(address, "/health/live").await, Some(200), "but still answering while it drains");
    serving.await.unwrap().unwrap();
    assert_eq!(status(address, "/health/live").await, None, "closed after the drain");
}

#[tokio::test]
async fn metrics_count_requests_and_business_metrics_on_a_port_of_their_own_never_the_apis() {
    server::prometheus::install();
    let test = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let edge = Edge::new(Arc::new(test.app.clone()), Arc::new(local::tokens::authorizer("secret")));
    tokio::spawn(server::edge::serve_until(listener, edge, std::future::pending(), Stop::default()));
    let token = local::tokens::mint("secret", "metrics-customer", "orders", 60);
    let body = r#"{"currency":"USD","items":[{"sku":"A","quantity":1,"unitPrice":100}]}"#;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /orders HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let get = |address, path: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let scrape = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scrape_address = scrape.local_addr().unwrap();
    tokio::spawn(server::prometheus::serve(scrape));
    let metrics = get(scrape_address, "/metrics").await;
    let on_the_api = get(address, "/metrics").await;

    assert!(on_the_api.starts_with("HTTP/1.1 404"), "never on the API's port: {on_the_api}");
    assert!(metrics.contains("content-type: text/plain; version=0.0.4"), "{metrics}");
    assert!(metrics.contains(r#"http_requests_total{method="POST",route="/orders",status="201"} "#), "{metrics}");
    assert!(
        metrics
            .contains(r#"http_request_duration_seconds_bucket{method="POST",route="/orders",status="201",le="+Inf"} "#)
    );
    assert!(
        metrics
            .contains("# TYPE platform_orders_created_total counter\nplatform_orders_created_total{currency=\"USD\"} "),
        "{metrics}"
    );
}

/// An edge over the test's app with `limits`, serving on a loopback port.
async fn edge_with(limits: Limits) -> (std::net::SocketAddr, crate::helpers::TestApp) {
    let test = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let edge = Edge::new(Arc::new(test.app.clone()), Arc::new(local::tokens::authorizer("secret"))).with_limits(limits);
    tokio::spawn(server::edge::serve(listener, edge));
    (address, test)
}

#[tokio::test]
async fn a_body_slower_than_its_limit_is_dropped_before_any_handler_runs() {
    let (address, test) = edge_with(Limits { body_timeout: Duration::from_millis(300), ..Limits::default() }).await;
    let token = local::tokens::mint("secret", "slow-customer", "orders", 60);

    // A body announced as 100 bytes, of which 5 come.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /orders HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"cu"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;

    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed without an answer: {read:?} {answer:?}");
    assert_eq!(test.items_with_prefix(platform::keys::ORDER_PREFIX).await, 0, "no handler ran");
    assert_eq!(status(address, "/health/live").await, Some(200), "and the server serves on");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let (address, _test) = edge_with(Limits { max_connections: 1, ..Limits::default() }).await;

    // One connection held open, idle; a second one asks.
    let held = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = tokio::spawn(status(address, "/health/live"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answered_while_held = waiting.is_finished();
    drop(held);

    assert!(!answered_while_held, "served beyond the limit");
    let answer = tokio::time::timeout(Duration::from_secs(5), waiting).await;
    assert!(matches!(answer, Ok(Ok(Some(200)))), "served once the first closed: {answer:?}");
}
