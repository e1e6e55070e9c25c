//! Lambda entry point; the handler lives in the library.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::{config, domain::OrderRules};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = platform::aws::load().await;
    let max_total = config::var(config::MAX_ORDER_TOTAL).ok().and_then(|v| v.parse().ok());
    let rules = OrderRules::new(&config::var(config::DENIED_SKUS).unwrap_or_default(), max_total);
    let processor = order_processor::Processor { store: platform::aws::order_store(&sdk)?, rules };
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| async {
        Ok::<_, Error>(order_processor::handle(&processor, event.payload).await)
    }))
    .await
}
