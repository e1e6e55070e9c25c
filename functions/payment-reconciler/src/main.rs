//! Lambda entry point; the handler lives in the library.

use lambda_runtime::{Error, LambdaEvent};
use platform::domain::Timestamp;

fn main() -> Result<(), Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let provider = platform::aws::payment_provider(&sdk).await?;
        let cashier = platform::aws::cashier(&sdk, provider)?;
        // The schedule's event carries nothing the reconciler needs.
        platform::lambda::serve(cashier, |cashier, _: LambdaEvent<serde_json::Value>| {
            payment_reconciler::handle(cashier, Timestamp::now())
        })
        .await
    })
}
