//! Lambda entry point; the handler lives in the library.

// The report handler is one deeply nested future (parallel shards, multipart upload, SDK calls);
// its layout needs more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent};
use platform::domain::Timestamp;

fn main() -> Result<(), Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let report = daily_report::Report {
            orders: platform::aws::order_store(&sdk)?,
            payments: platform::aws::payment_store(&sdk)?,
            sink: platform::aws::exports(&sdk)?,
            provider: platform::aws::payment_provider(&sdk).await?,
            page_size: Some(daily_report::PAGE_ITEMS),
            part_bytes: daily_report::PART_BYTES,
        };
        platform::lambda::serve(report, |report, event: LambdaEvent<serde_json::Value>| async move {
            daily_report::handle(report, &event.payload, Timestamp::now()).await
        })
        .await
    })
}
