//! Lambda entry point; the handler lives in the library.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    platform::telemetry::init();
    let sdk = platform::aws::load().await;
    let invoker = release_check::LambdaInvoker::from_env(&sdk)?;
    let codedeploy = release_check::CodeDeploy::new(&sdk);
    lambda_runtime::run(service_fn(|event: LambdaEvent<release_check::HookEvent>| {
        release_check::handle(&invoker, &codedeploy, event.payload)
    }))
    .await
}
