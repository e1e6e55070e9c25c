//! AWS clients, built once per cold start. The standard environment decides where they point:
//! `AWS_ENDPOINT_URL` sends every client to an emulator, as the tests and the local platform do.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{self, MissingVar};
use crate::cursor::CursorSigner;
use crate::events::EventPublisher;
use crate::store::{IdempotencyStore, OrderStore, PaymentStore};

/// The SDK configuration from the environment: region, credentials, endpoint.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// S3 with path-style addressing when an endpoint is set, which emulators need.
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The order store on the table named by `ORDERS_TABLE`.
pub fn order_store(sdk: &SdkConfig) -> Result<OrderStore, MissingVar> {
    Ok(OrderStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The payment store on the table named by `ORDERS_TABLE`.
pub fn payment_store(sdk: &SdkConfig) -> Result<PaymentStore, MissingVar> {
    Ok(PaymentStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The idempotency records in the table named by `ORDERS_TABLE`.
pub fn idempotency_store(sdk: &SdkConfig) -> Result<IdempotencyStore, MissingVar> {
    Ok(IdempotencyStore::new(dynamodb(sdk), config::var(config::ORDERS_TABLE)?))
}

/// The publisher to the queue named by `ORDER_QUEUE_URL`.
pub fn event_publisher(sdk: &SdkConfig) -> Result<EventPublisher, MissingVar> {
    Ok(EventPublisher::new(sqs(sdk), config::var(config::ORDER_QUEUE_URL)?))
}

/// The exports bucket named by `EXPORTS_BUCKET`.
pub fn exports(sdk: &SdkConfig) -> Result<crate::exports::S3Exports, MissingVar> {
    Ok(crate::exports::S3Exports::new(s3(sdk), config::var(config::EXPORTS_BUCKET)?))
}

/// The cursor signer keyed by `CURSOR_SECRET`.
pub fn cursor_signer() -> Result<CursorSigner, MissingVar> {
    Ok(CursorSigner::new(config::var(config::CURSOR_SECRET)?))
}

/// What the payment functions use: the card processor, and the stores and queue its money moves touch.
#[derive(Debug, Clone)]
pub struct Payments<G> {
    pub orders: OrderStore,
    pub payments: PaymentStore,
    pub keys: IdempotencyStore,
    pub events: EventPublisher,
    pub gateway: G,
}

impl<G> Payments<G> {
    /// The payment functions' clients on `ORDERS_TABLE` and `ORDER_QUEUE_URL`, with `gateway`.
    pub fn from_env(sdk: &SdkConfig, gateway: G) -> Result<Self, MissingVar> {
        Ok(Self {
            orders: order_store(sdk)?,
            payments: payment_store(sdk)?,
            keys: idempotency_store(sdk)?,
            events: event_publisher(sdk)?,
            gateway,
        })
    }
}
