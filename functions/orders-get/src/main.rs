//! Lambda entry point; the handler lives in the library.

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let store = platform::aws::order_store(&sdk)?;
        platform::lambda::warm_up(store.get(&platform::domain::OrderId::new())).await;
        platform::http::run(store, orders_get::handle).await
    })
}
