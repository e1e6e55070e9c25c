//! The floor of an order route: a `lambda_runtime` function whose only work is one DynamoDB
//! `GetItem` through the platform's client (`{"orderId": ...}` in, `{"found": bool}` out).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use platform::domain::OrderId;
use platform::keys;
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sdk = platform::aws::load().await;
    let db = platform::aws::dynamodb(&sdk);
    let table = std::env::var("ORDERS_TABLE")?;
    let (db, table) = (&db, &table);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let id: OrderId = serde_json::from_value(event.payload["orderId"].clone())?;
        let key = keys::order(&id);
        let output = db
            .get_item()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .send()
            .await?;
        Ok::<_, Error>(json!({ "found": output.item.is_some() }))
    }))
    .await
}
