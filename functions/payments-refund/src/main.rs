//! Lambda entry point; the handler lives in the library.

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let provider = platform::aws::payment_provider(&sdk).await?;
        let cashier = platform::aws::cashier(&sdk, provider)?;
        platform::http::run(cashier, payments_refund::handle).await
    })
}
