//! The baseline: a hello-world `lambda_runtime` function, built with the same profile.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, Error>(serde_json::json!({ "hello": event.payload }))
    }))
    .await
}
