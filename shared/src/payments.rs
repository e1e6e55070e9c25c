//! What the payment routes share: the payment provider, and the stores and queue its money moves touch.

use aws_config::SdkConfig;

use crate::aws;
use crate::config::ConfigError;
use crate::events::EventPublisher;
use crate::store::{IdempotencyStore, OrderStore, PaymentStore};

/// The dependencies of `POST /payments` and `POST /payments/{id}/refund`, built once per cold start.
#[derive(Debug, Clone)]
pub struct PaymentDeps<P> {
    pub orders: OrderStore,
    pub payments: PaymentStore,
    pub idempotency: IdempotencyStore,
    pub events: EventPublisher,
    pub provider: P,
}

impl<P> PaymentDeps<P> {
    /// The clients on `ORDERS_TABLE` and `ORDER_QUEUE_URL`, with `provider`.
    pub fn from_env(sdk: &SdkConfig, provider: P) -> Result<Self, ConfigError> {
        Ok(Self {
            orders: aws::order_store(sdk)?,
            payments: aws::payment_store(sdk)?,
            idempotency: aws::idempotency_store(sdk)?,
            events: aws::event_publisher(sdk)?,
            provider,
        })
    }
}
