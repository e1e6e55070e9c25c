//! Lambda entry point; the handler lives in the library.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let store = platform::aws::order_store(&sdk)?;
    let events = platform::aws::event_publisher(&sdk)?;
    let idempotency = platform::aws::idempotency_store(&sdk)?;
    platform::http::run(|req| orders_create::handle(&store, &events, &idempotency, req)).await
}
