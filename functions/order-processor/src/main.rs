//! Lambda entry point; the handler lives in the library.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::domain::OrderRules;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let rules = OrderRules::from_env()?;
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let processor = order_processor::Processor { store: platform::aws::order_store(&sdk)?, rules };
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(order_processor::handle(&processor, event.payload).await)
    }))
    .await
}
