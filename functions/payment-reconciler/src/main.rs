//! Lambda entry point; the handler lives in the library.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::domain::Timestamp;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let provider = platform::aws::payment_provider(&sdk).await?;
    let cashier = platform::aws::cashier(&sdk, provider)?;
    // The schedule's event carries nothing the reconciler needs.
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        payment_reconciler::handle(&cashier, Timestamp::now())
    }))
    .await
}
