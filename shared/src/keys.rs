//! The single-table key schema: the only module that spells a key or names an index.
//! `docs/data-model.md` lists every access pattern against these functions; `template.yaml`
//! declares the same attributes and indexes, and a test keeps the two equal.

use sha2::{Digest, Sha256};

use crate::domain::{CustomerId, LedgerEntry, Order, OrderId, Payment, PaymentId, RefundId, Timestamp};

pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// An index of the table: its name and key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// Overloaded: a customer's orders (`CUSTOMER#<id>`), an order's payments (`ORDER#<id>`).
pub const GSI1: Index = Index { name: "gsi1", pk: "gsi1pk", sk: "gsi1sk" };
/// Orders by UTC day of creation, write-sharded (`DAY#<yyyy-mm-dd>#<shard>`).
pub const GSI2: Index = Index { name: "gsi2", pk: "gsi2pk", sk: "gsi2sk" };
/// Sparse, work left to finish: orders whose outbox holds undelivered events (`OUTBOX#<shard>`),
/// payments and refunds still `PENDING` at the provider (`PENDING#<shard>`).
pub const GSI3: Index = Index { name: "gsi3", pk: "gsi3pk", sk: "gsi3sk" };
/// Sparse: orders `PENDING` a decision (`PENDING_ORDER#<shard>`), so none is forgotten.
pub const GSI4: Index = Index { name: "gsi4", pk: "gsi4pk", sk: "gsi4sk" };
pub const INDEXES: [Index; 4] = [GSI1, GSI2, GSI3, GSI4];

/// The attribute DynamoDB's TTL deletes expired items by (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// Shards of the per-day index: one busy day spreads over this many partitions.
pub const DAY_SHARDS: u32 = 16;
/// Shards of the outbox index.
pub const OUTBOX_SHARDS: u32 = 4;
/// Shards of the pending-money index.
pub const PENDING_SHARDS: u32 = 4;

/// The sort key of every entity's main item.
const METADATA: &str = "METADATA";
/// Prefix of an order's partition and of its place in its customer's listing (so other item
/// types can share the customer partition).
pub const ORDER_PREFIX: &str = "ORDER#";

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// The order item: `ORDER#<id>` / `METADATA`.
pub fn order(id: &OrderId) -> Key {
    Key { pk: format!("{ORDER_PREFIX}{id}"), sk: METADATA.into() }
}

/// The order an order item's `pk` names, if it names one.
pub fn order_id_of(pk: &str) -> Option<OrderId> {
    OrderId::parse(PK, pk.strip_prefix(ORDER_PREFIX)?).ok()
}

/// The partition of `gsi1` holding a customer's orders.
pub fn customer_orders(customer: &CustomerId) -> String {
    format!("CUSTOMER#{customer}")
}

/// The partition of `gsi2` holding one shard of one UTC day's orders.
pub fn day_shard(day: &str, shard: u32) -> String {
    format!("DAY#{day}#{shard:02}")
}

/// The partition of `gsi3` for one shard of pending outboxes.
pub fn outbox_shard(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

/// Every index key an order item carries, besides `pk`/`sk`: its place in the customer's listing
/// (newest first) and in its day of creation.
pub fn order_index_keys(order: &Order) -> [(&'static str, String); 4] {
    let created = order.created_at;
    [
        (GSI1.pk, customer_orders(&order.customer_id)),
        (GSI1.sk, format!("{ORDER_PREFIX}{created}#{}", order.order_id)),
        (GSI2.pk, day_shard(&created.day(), order.order_id.shard(DAY_SHARDS))),
        (GSI2.sk, format!("{created}#{}", order.order_id)),
    ]
}

/// Prefix of a payment's partition, which holds its refunds too.
pub const PAYMENT_PREFIX: &str = "PAYMENT#";

/// Whether a decoded list cursor is an order's position in `customer`'s listing, with exactly the
/// key attributes a listing position has: anything else is refused before it reaches DynamoDB.
pub fn is_listing_position(position: &std::collections::BTreeMap<String, String>, customer: &CustomerId) -> bool {
    let field = |name: &str| position.get(name).map(String::as_str);
    let order = field(PK).and_then(order_id_of);
    position.len() == 4
        && order.is_some()
        && field(SK) == Some(METADATA)
        && field(GSI1.pk) == Some(customer_orders(customer).as_str())
        && field(GSI1.sk).and_then(|sk| sk.strip_prefix(ORDER_PREFIX)).zip(order).is_some_and(|(rest, id)| {
            rest.strip_suffix(&id.to_string()).and_then(|at| at.strip_suffix('#')).and_then(Timestamp::parse).is_some()
        })
}

/// The payment item: `PAYMENT#<id>` / `METADATA`; its refunds share the partition.
pub fn payment(id: &PaymentId) -> Key {
    Key { pk: payment_partition(id), sk: METADATA.into() }
}

/// The partition holding a payment and its refunds.
pub fn payment_partition(id: &PaymentId) -> String {
    format!("{PAYMENT_PREFIX}{id}")
}

/// Sort key prefix of refund items in a payment's partition.
pub const REFUND_PREFIX: &str = "REFUND#";

/// A refund item, in its payment's partition. Keyed by its id alone, so a second execution of
/// the same refund (an id bound to an idempotency key) meets the first one's item.
pub fn refund(payment: &PaymentId, refund: &RefundId) -> Key {
    Key { pk: payment_partition(payment), sk: format!("{REFUND_PREFIX}{refund}") }
}

/// The refund a refund item's sort key names, if it names one.
pub fn refund_id_of(sk: &str) -> Option<RefundId> {
    RefundId::parse(SK, sk.strip_prefix(REFUND_PREFIX)?).ok()
}

/// The payment a payment partition's key names, if it names one.
pub fn payment_id_of(pk: &str) -> Option<PaymentId> {
    PaymentId::parse(PK, pk.strip_prefix(PAYMENT_PREFIX)?).ok()
}

/// A payment's place among its order's payments in `gsi1`.
pub fn payment_index_keys(payment: &Payment) -> [(&'static str, String); 2] {
    [
        (GSI1.pk, format!("{ORDER_PREFIX}{}", payment.order_id)),
        (GSI1.sk, format!("{PAYMENT_PREFIX}{}#{}", payment.created_at, payment.payment_id)),
    ]
}

/// The partition prefix of idempotency records.
pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";

/// The idempotency record of one caller's key. The key is client text, so it is hashed: it
/// can neither collide with another caller's nor reach outside its own item.
pub fn idempotency(customer: &CustomerId, idempotency_key: &str) -> Key {
    let hex = digest(&[customer.as_str().as_bytes(), idempotency_key.as_bytes()]);
    Key { pk: format!("{IDEMPOTENCY_PREFIX}{hex}"), sk: METADATA.into() }
}

/// SHA-256 of `parts` separated by NUL bytes, as lowercase hex.
pub fn digest(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash.update([0]);
        }
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The partition holding one shard of one UTC day's ledger entries (the base table, not an index:
/// entries are written once and read by day).
pub fn ledger_shard(day: &str, shard: u32) -> String {
    format!("LEDGER#{day}#{shard:02}")
}

/// A ledger entry: in the partition of the day it happened, sorted by when its movement began and
/// then by movement, so a movement's steps of one day are adjacent (the first step before the
/// settlement).
pub fn ledger_entry(entry: &LedgerEntry) -> Key {
    let step = if entry.is_first_step() { 1 } else { 2 };
    Key {
        pk: ledger_shard(&entry.at.day(), entry.shard(DAY_SHARDS)),
        sk: format!("{}#{}#{step}", entry.initiated_at, entry.movement_id()),
    }
}

/// The partition of `gsi3` for one shard of pending payments and refunds.
pub fn pending_shard(shard: u32) -> String {
    format!("PENDING#{shard}")
}

/// The `gsi3` keys a payment or refund item carries while it is `PENDING`: the sort key starts
/// with when the reconciler should next look at it (`due`), so its query finds what is due.
pub fn pending_keys(id_shard: u32, due: Timestamp, id: &impl std::fmt::Display) -> [(&'static str, String); 2] {
    [(GSI3.pk, pending_shard(id_shard % PENDING_SHARDS)), (GSI3.sk, pending_due(due, id))]
}

/// The `gsi3` sort key of a pending payment or refund the reconciler should look at from `due`.
pub fn pending_due(due: Timestamp, id: &impl std::fmt::Display) -> String {
    format!("{due}#{id}")
}

/// The partition of `gsi4` for one shard of orders awaiting a decision.
pub fn pending_order_shard(shard: u32) -> String {
    format!("PENDING_ORDER#{shard}")
}

/// The `gsi4` keys an order carries while it is `PENDING`, since `since`.
pub fn pending_order_keys(order_id: &OrderId, since: Timestamp) -> [(&'static str, String); 2] {
    [(GSI4.pk, pending_order_shard(order_id.shard(PENDING_SHARDS))), (GSI4.sk, format!("{since}#{order_id}"))]
}

/// The `gsi3` keys an order carries while its outbox holds events.
pub fn outbox_keys(order_id: &OrderId, since: Timestamp) -> [(&'static str, String); 2] {
    [(GSI3.pk, outbox_shard(order_id.shard(OUTBOX_SHARDS))), (GSI3.sk, format!("{since}#{order_id}"))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LineItemInput, Lines};

    #[test]
    fn idempotency_keys_are_hashed_per_caller() {
        let alice = CustomerId::parse("c", "alice").unwrap();
        let bob = CustomerId::parse("c", "bob").unwrap();
        let key = idempotency(&alice, "k#1");
        assert!(key.pk.starts_with("IDEMPOTENCY#") && !key.pk.contains("k#1"));
        assert_eq!(key.pk.len(), "IDEMPOTENCY#".len() + 64);
        assert_ne!(key, idempotency(&bob, "k#1"));
        assert_eq!(key, idempotency(&alice, "k#1"));
    }

    #[test]
    fn an_order_is_keyed_by_id_and_indexed_by_customer_and_day() {
        let lines = Lines::parse("USD", &[LineItemInput { sku: "A".into(), quantity: 1, unit_price: 1 }]).unwrap();
        let order = Order::new(
            OrderId::new(),
            CustomerId::parse("c", "alice").unwrap(),
            lines,
            Timestamp::from_millis(1_795_681_865_123),
        );
        let id = order.order_id;
        assert_eq!(super::order(&id), Key { pk: format!("ORDER#{id}"), sk: "METADATA".into() });
        assert_eq!(order_id_of(&super::order(&id).pk), Some(id));
        assert_eq!(order_id_of(&format!("PAYMENT#{id}")), None);
        let keys = order_index_keys(&order);
        assert_eq!(keys[0], ("gsi1pk", "CUSTOMER#alice".into()));
        assert_eq!(keys[1], ("gsi1sk", format!("ORDER#2026-11-26T08:31:05.123Z#{id}")));
        assert_eq!(keys[2], ("gsi2pk", format!("DAY#2026-11-26#{:02}", id.shard(DAY_SHARDS))));
        assert_eq!(keys[3], ("gsi2sk", format!("2026-11-26T08:31:05.123Z#{id}")));
    }
}
