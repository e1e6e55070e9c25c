//! Lambda entry point; the handler lives in the library.

use platform::config;

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let signing_secret =
            platform::aws::secret(&sdk, config::PAYMENT_WEBHOOK_KEY, config::PAYMENT_WEBHOOK_SECRET).await?;
        let cashier = platform::aws::cashier(&sdk, platform::cashier::NoProvider)?;
        let webhook = payment_webhook::Webhook { cashier, signing_secret };
        platform::http::run(webhook, payment_webhook::handle).await
    })
}
