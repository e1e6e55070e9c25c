//! Lambda entry point; the handler lives in the library.

use platform::gateway::SandboxGateway;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let deps = platform::aws::Payments::from_env(&sdk, SandboxGateway)?;
    platform::telemetry::run_http(|req| payments_create::handle(&deps, req)).await
}
