//! The provider emulator, as the tests see it: its books, and its outage and clock controls.

use serde_json::Value;

use crate::helpers::TestApp;

impl TestApp {
    /// The provider emulator's books: `{"captures": n, "payments": {id: {"captured", "refunded"}}}`.
    pub async fn provider_books(&self) -> Value {
        use http_body_util::BodyExt;
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
        let uri = format!("{}/_emulator/books", self.provider_url).parse().unwrap();
        let body = client.get(uri).await.unwrap().into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).unwrap()
    }

    /// One of the provider emulator's controls (`/_emulator/outage`, `/_emulator/clock`).
    pub async fn emulator_control(&self, path: &str, body: Value) {
        emulator_control(&self.provider_url, path, body).await;
    }
}

/// Posts `body` to one of the provider emulator's controls at `url`.
pub async fn emulator_control(url: &str, path: &str, body: Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let request = hyper::Request::post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
}
