//! Lambda entry point; the handler lives in the library.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let provider = platform::aws::payment_provider(&sdk).await?;
    let cashier = platform::aws::cashier(&sdk, provider)?;
    platform::http::run(|req| payments_create::handle(&cashier, req)).await
}
