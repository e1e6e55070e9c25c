//! Lambda entry point; the handler lives in the library.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let payments = platform::aws::payment_store(&sdk)?;
    platform::http::run(|req| payments_get::handle(&payments, req)).await
}
