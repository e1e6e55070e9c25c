//! Lambda entry point; the handler lives in the library.

// The report handler is one deeply nested future (parallel shards, multipart upload, SDK calls);
// its layout needs more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::domain::Timestamp;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
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
    let report = &report;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        daily_report::handle(report, &event.payload, Timestamp::now()).await
    }))
    .await
}
