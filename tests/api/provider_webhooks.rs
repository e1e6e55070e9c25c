//! The provider emulator's events as Stripe documents them: a webhook retried with back-off until
//! answered, for up to 3 days; every event listed by `GET /v1/events` for 30 days.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use local::provider_emulator::{EmulatorSettings, Webhook};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::emulator::emulator_control;
use crate::provider_contract::{KEY, raw_post};

/// A webhook endpoint that answers 500 to its first `failures` deliveries and 200 after; counts them.
async fn endpoint(failures: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/webhook", listener.local_addr().unwrap().port());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                // One request per connection: read its head and body, answer, close.
                let mut request = vec![];
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(read @ 1..) = socket.read(&mut chunk).await else { return };
                    request.extend_from_slice(&chunk[..read]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length {
                            break;
                        }
                    }
                }
                let status =
                    if seen.fetch_add(1, Ordering::SeqCst) < failures { "500 Internal Server Error" } else { "200 OK" };
                let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, count)
}

/// An emulator sending its webhooks to `url`; its address.
async fn emulator(url: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut settings = EmulatorSettings::new(KEY);
    settings.webhook = Some(Webhook { url: url.to_owned(), secret: "whsec_webhooks".into() });
    tokio::spawn(local::provider_emulator::serve(listener, settings));
    address
}

/// A captured payment intent: one `payment_intent.succeeded` event.
async fn capture(address: &str) {
    let form = [
        ("amount", "1000"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[card][token]", "tok_visa"),
    ];
    let (status, intent) = raw_post(address, "/v1/payment_intents", &form).await;
    assert_eq!(status, 200, "{intent}");
}

async fn events(address: &str) -> Value {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let request = hyper::Request::get(format!("{address}/v1/events?type=payment_intent.succeeded"))
        .header("authorization", format!("Bearer {KEY}"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let body = client.request(request).await.unwrap().into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// Waits until `count` stops changing for half a second; its value then.
async fn settled(count: &AtomicUsize) -> usize {
    loop {
        let before = count.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(500)).await;
        if count.load(Ordering::SeqCst) == before {
            return before;
        }
    }
}

#[tokio::test]
async fn a_webhook_is_retried_until_answered_and_then_not_again() {
    let (url, count) = endpoint(3).await;
    let address = emulator(&url).await;

    capture(&address).await;

    assert_eq!(settled(&count).await, 4, "three failures, then the delivery that was answered");
}

#[tokio::test]
async fn a_webhook_never_answered_is_retried_for_three_days_then_given_up() {
    // Arrange: an endpoint that never answers 200.
    let (url, count) = endpoint(usize::MAX).await;
    let address = emulator(&url).await;
    capture(&address).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Act: two days pass at the provider, then two more.
    let early = count.load(Ordering::SeqCst);
    emulator_control(&address, "/_emulator/clock", json!({"advanceSeconds": 2 * 24 * 3600})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_two_days = count.load(Ordering::SeqCst);
    emulator_control(&address, "/_emulator/clock", json!({"advanceSeconds": 2 * 24 * 3600})).await;
    let given_up = settled(&count).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Assert: retried with back-off while within 3 days, and not after.
    assert!(early >= 3, "retried at once, with short waits first: {early}");
    assert!(after_two_days > early, "a retry fell due when the clock moved");
    assert_eq!(count.load(Ordering::SeqCst), given_up, "no delivery after 3 days");
}

#[tokio::test]
async fn events_are_listed_for_thirty_days() {
    let (url, _) = endpoint(0).await;
    let address = emulator(&url).await;
    capture(&address).await;

    let now = events(&address).await;
    emulator_control(&address, "/_emulator/clock", json!({"advanceSeconds": 31 * 24 * 3600})).await;
    let later = events(&address).await;

    assert_eq!(now["data"].as_array().unwrap().len(), 1, "{now}");
    assert_eq!(now["data"][0]["data"]["object"]["status"], "succeeded");
    assert_eq!(later["data"], json!([]), "{later}");
}
