//! Lambda entry point; the handler lives in the library.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let store = platform::aws::order_store(&sdk)?;
    let cursor_key = platform::aws::cursor_key(&sdk).await?;
    platform::http::run(|req| orders_list::handle(&store, &cursor_key, req)).await
}
