//! Domain types: invalid values cannot exist past the edge, and the order state machine is pure.

mod caller;
mod history;
mod ids;
mod ledger;
mod money;
mod order;
mod payment;
mod rules;
mod time;

pub use caller::Caller;
pub use history::{MAX_REVISIONS_TO_PAY, MAX_REVISIONS_TO_UPDATE, Revision};
pub use ids::{CustomerId, OrderId, PaymentId, RefundId, Sku};
pub use ledger::{LedgerEntry, Movement};
pub use money::{Currency, MAX_UNIT_PRICE};
pub use order::{Change, LineItem, LineItemInput, Lines, MAX_ITEMS, MAX_QUANTITY, Order, OrderStatus};
pub use payment::{
    Capture, MAX_AMOUNT, Payment, PaymentStatus, Refund, RefundStatus, parse_amount, parse_reason, parse_source,
};
pub use rules::OrderRules;
pub use time::Timestamp;
