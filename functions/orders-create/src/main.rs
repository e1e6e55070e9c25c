//! Lambda entry point; the handler lives in the library.

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let store = platform::aws::order_store(&sdk)?;
        let events = platform::aws::event_publisher(&sdk)?;
        let idempotency = platform::aws::idempotency_store(&sdk)?;
        platform::http::run((store, events, idempotency), |(store, events, idempotency), req| {
            orders_create::handle(store, events, idempotency, req)
        })
        .await
    })
}
