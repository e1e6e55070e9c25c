//! Lambda entry point; the handler lives in the library.

use lambda_runtime::Error;
use platform::domain::OrderRules;

fn main() -> Result<(), Error> {
    platform::lambda::start(async {
        let rules = OrderRules::from_env()?;
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let processor = order_processor::Processor { store: platform::aws::order_store(&sdk)?, rules };
        platform::lambda::serve(processor, |processor, event| async move {
            Ok::<_, Error>(order_processor::handle(processor, event.payload).await)
        })
        .await
    })
}
