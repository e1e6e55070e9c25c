//! Lambda entry point; the handler lives in the library.

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let store = platform::aws::order_store(&sdk)?;
        let cursor_key = platform::aws::cursor_key(&sdk).await?;
        platform::http::run((store, cursor_key), |(store, cursor_key), req| orders_list::handle(store, cursor_key, req))
            .await
    })
}
