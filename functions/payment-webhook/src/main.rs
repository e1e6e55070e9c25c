//! Lambda entry point; the handler lives in the library.

use platform::config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let signing_secret =
        platform::aws::secret(&sdk, config::PAYMENT_WEBHOOK_KEY, config::PAYMENT_WEBHOOK_SECRET).await?;
    let cashier = platform::aws::cashier(&sdk, platform::cashier::NoProvider)?;
    let webhook = payment_webhook::Webhook { cashier, signing_secret };
    platform::http::run(|req| payment_webhook::handle(&webhook, req)).await
}
