//! `orders.csv`: one row per order created that day, as it stood at the day's end.

use platform::domain::{Order, Timestamp};
use platform::{Result, ResultExt};

use crate::cells::Rows;

pub const HEADER: [&str; 11] = [
    "orderId",
    "customerId",
    "status",
    "currency",
    "total",
    "paid",
    "refunded",
    "items",
    "rejectionReason",
    "createdAt",
    "updatedAt",
];

/// The order's row as of `end`, from its history; `None` if it did not exist yet.
pub fn push(rows: &mut Rows, order: &Order, end: Timestamp) -> Result<Option<Order>> {
    let Some(then) = order.as_of(end) else { return Ok(None) };
    // The line items as JSON: `[{"sku","quantity","unitPrice"}]`.
    let items = serde_json::to_string(&then.items).context("encoding items")?;
    rows.push([
        then.order_id.to_string().as_str(),
        then.customer_id.as_str(),
        then.status.as_str(),
        then.currency.as_str(),
        &then.total.to_string(),
        &then.paid.to_string(),
        &then.refunded.to_string(),
        &items,
        then.rejection_reason.as_deref().unwrap_or_default(),
        &then.created_at.to_string(),
        &then.updated_at.to_string(),
    ])?;
    Ok(Some(then))
}
