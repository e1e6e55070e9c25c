//! An order's history: each write that changes an order appends one [`Revision`] to the order
//! item in the same `UpdateItem`, so the history cannot miss a change or hold one that did not
//! happen, and [`Order::as_of`] can state the order at any past instant (the daily report's
//! 24:00 UTC) without looking at what it is now.

use serde::{Deserialize, Serialize};

use super::{Currency, LineItem, Lines, Order, OrderStatus, Timestamp};

/// An order takes updates only while it has fewer revisions than this. An update's revision
/// carries the new items (up to about 10 KB), so this keeps the item far below DynamoDB's 400 KB.
pub const MAX_REVISIONS_TO_UPDATE: usize = 25;
/// An order takes new payments and refunds only while it has fewer revisions than this (each
/// payment or refund adds one or two small ones).
pub const MAX_REVISIONS_TO_PAY: usize = 500;

/// What one write changed on an order: the fields it set, and what it added to the amounts.
/// Each revision is one version of the order (version `n` is the `n`-th revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub at: Timestamp,
    /// The stored status it set (`PAID` and the refund statuses are derived, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<LineItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// Added to `paid`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paid: i64,
    /// Added to `refunded` (negative when a refund failed and gave its hold back).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunded: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Revision {
    /// A write that changes nothing the API shows (it still makes a version).
    pub fn at(at: Timestamp) -> Self {
        Self {
            at,
            status: None,
            items: None,
            currency: None,
            total: None,
            rejection_reason: None,
            paid: 0,
            refunded: 0,
        }
    }

    /// New lines, and back to `PENDING` (creation and update).
    pub fn lines(lines: &Lines, at: Timestamp) -> Self {
        Self {
            status: Some(OrderStatus::Pending),
            items: Some(lines.items.clone()),
            currency: Some(lines.currency),
            total: Some(lines.total),
            ..Self::at(at)
        }
    }

    /// A new status, with the reason of a rejection.
    pub fn status(status: OrderStatus, rejection_reason: Option<&str>, at: Timestamp) -> Self {
        Self { status: Some(status), rejection_reason: rejection_reason.map(str::to_owned), ..Self::at(at) }
    }

    /// Amounts added to `paid` and `refunded`.
    pub fn money(paid: i64, refunded: i64, at: Timestamp) -> Self {
        Self { paid, refunded, ..Self::at(at) }
    }

    fn apply(&self, order: &mut Order) {
        if let Some(status) = self.status {
            order.status = status;
        }
        if let Some(items) = &self.items {
            order.items.clone_from(items);
        }
        if let Some(currency) = self.currency {
            order.currency = currency;
        }
        if let Some(total) = self.total {
            order.total = total;
        }
        if self.rejection_reason.is_some() {
            order.rejection_reason.clone_from(&self.rejection_reason);
        }
        order.paid += self.paid;
        order.refunded += self.refunded;
        order.version += 1;
        order.updated_at = self.at;
    }
}

impl Order {
    /// The order as it stood just before `end`, from its history alone: the revisions in the
    /// order they were written, up to the first one at or after `end` (so the result is a state
    /// the order really had, even if two writers' clocks disagreed by a few milliseconds).
    /// `None` when it did not exist yet. An order written before histories were kept has none;
    /// it is taken as it is.
    pub fn as_of(&self, end: Timestamp) -> Option<Order> {
        if self.history.is_empty() {
            return (self.created_at < end).then(|| self.clone());
        }
        let mut order = Order {
            order_id: self.order_id,
            customer_id: self.customer_id.clone(),
            status: OrderStatus::Pending,
            items: vec![],
            currency: self.currency,
            total: 0,
            paid: 0,
            refunded: 0,
            version: 0,
            committed: 0,
            returned: 0,
            rejection_reason: None,
            created_at: self.created_at,
            updated_at: self.created_at,
            history: vec![],
        };
        for revision in self.history.iter().take_while(|r| r.at < end) {
            revision.apply(&mut order);
        }
        (order.version > 0).then(|| order.settled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, LineItemInput, OrderId};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn lines(price: i64) -> Lines {
        Lines::parse("USD", &[LineItemInput { sku: "A".into(), quantity: 1, unit_price: price }]).unwrap()
    }

    /// An order whose history is `revisions` after its creation, with its current fields as the
    /// store would hold them.
    fn order_with(revisions: Vec<Revision>) -> Order {
        let mut order = Order::new(
            OrderId::new(),
            CustomerId::parse("c", "alice").unwrap(),
            lines(1000),
            t("2026-11-25T10:00:00Z"),
        );
        order.history.extend(revisions);
        let now = order.as_of(t("2100-01-01T00:00:00Z")).unwrap();
        Order { history: order.history, ..now }
    }

    #[test]
    fn the_state_at_a_past_instant_ignores_every_later_change() {
        let order = order_with(vec![
            Revision::status(OrderStatus::Confirmed, None, t("2026-11-25T10:00:01Z")),
            Revision::money(1000, 0, t("2026-11-25T12:00:00Z")),
            Revision::money(0, 400, t("2026-11-26T09:00:00Z")),
            Revision::at(t("2026-11-26T09:00:01Z")),
        ]);
        assert_eq!((order.status, order.refunded, order.version), (OrderStatus::PartiallyRefunded, 400, 5));

        let midnight = order.as_of(t("2026-11-26T00:00:00Z")).unwrap();
        assert_eq!((midnight.status, midnight.paid, midnight.refunded), (OrderStatus::Paid, 1000, 0));
        assert_eq!((midnight.version, midnight.updated_at), (3, t("2026-11-25T12:00:00Z")));
        assert_eq!(order.as_of(t("2026-11-25T10:00:00Z")), None, "not created yet");
    }

    #[test]
    fn an_update_replaces_the_lines_and_a_rejection_keeps_its_reason() {
        let order = order_with(vec![
            Revision::lines(&lines(250), t("2026-11-25T11:00:00Z")),
            Revision::status(OrderStatus::Rejected, Some("too much"), t("2026-11-25T11:00:01Z")),
        ]);
        let before = order.as_of(t("2026-11-25T10:30:00Z")).unwrap();
        assert_eq!((before.total, before.status, before.version), (1000, OrderStatus::Pending, 1));
        let after = order.as_of(t("2026-11-26T00:00:00Z")).unwrap();
        assert_eq!((after.total, after.items[0].unit_price), (250, 250));
        assert_eq!((after.status, after.rejection_reason.as_deref()), (OrderStatus::Rejected, Some("too much")));
    }

    #[test]
    fn revisions_stop_at_the_first_written_at_or_after_the_instant() {
        // The second writer's clock ran 5 ms behind the first's: its change came after midnight.
        let order = order_with(vec![
            Revision::status(OrderStatus::Confirmed, None, t("2026-11-26T00:00:00.002Z")),
            Revision::money(1000, 0, t("2026-11-25T23:59:59.997Z")),
        ]);
        let midnight = order.as_of(t("2026-11-26T00:00:00Z")).unwrap();
        assert_eq!((midnight.status, midnight.paid), (OrderStatus::Pending, 0));
    }
}
