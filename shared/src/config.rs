//! Settings from the environment, which `template.yaml` (or the local platform) provides.

/// The table of orders, payments and idempotency records.
pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
/// The queue events are published to.
pub const ORDER_QUEUE_URL: &str = "ORDER_QUEUE_URL";
/// The bucket the daily report writes to.
pub const EXPORTS_BUCKET: &str = "EXPORTS_BUCKET";
/// The secret that signs list cursors.
pub const CURSOR_SECRET: &str = "CURSOR_SECRET";

/// Comma-separated SKUs the order processor rejects.
pub const DENIED_SKUS: &str = "DENIED_SKUS";
/// The largest order total (minor units) the order processor accepts without review.
pub const MAX_ORDER_TOTAL: &str = "MAX_ORDER_TOTAL";

#[derive(Debug, thiserror::Error)]
#[error("the environment variable {0} is not set")]
pub struct MissingVar(pub &'static str);

pub fn var(name: &'static str) -> Result<String, MissingVar> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or(MissingVar(name))
}
