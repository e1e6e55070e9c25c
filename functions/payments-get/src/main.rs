//! Lambda entry point; the handler lives in the library.

fn main() -> Result<(), lambda_http::Error> {
    platform::lambda::start(async {
        platform::telemetry::init();
        let sdk = platform::aws::load().await;
        let payments = platform::aws::payment_store(&sdk)?;
        platform::lambda::warm_up(payments.get(&platform::domain::PaymentId::new())).await;
        platform::http::run(payments, payments_get::handle).await
    })
}
