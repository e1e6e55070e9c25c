//! Lambda entry point; the handler lives in the library.

use platform::payment_provider::SandboxProvider;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let deps = platform::payments::PaymentDeps::from_env(&sdk, SandboxProvider)?;
    platform::http::run(|req| payments_create::handle(&deps, req)).await
}
