//! The floor of an event: a `lambda_runtime` function whose only work is one SQS `SendMessage` to
//! the order queue through the platform's client (any payload in, `{"sent": true}` out). With
//! `get-item`, it prices the AWS calls a route makes, so a route can be compared with its floor.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sdk = platform::aws::load().await;
    let sqs = platform::aws::sqs(&sdk);
    let queue = std::env::var("ORDER_QUEUE_URL")?;
    let (sqs, queue) = (&sqs, &queue);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let body = json!({"type": "BENCH", "orderId": "bench"}).to_string();
        sqs.send_message().queue_url(queue).message_body(body).send().await?;
        Ok::<_, Error>(json!({ "sent": true }))
    }))
    .await
}
