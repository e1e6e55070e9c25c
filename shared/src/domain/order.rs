use serde::{Deserialize, Serialize};

use super::{
    Currency, CustomerId, MAX_REVISIONS_TO_PAY, MAX_REVISIONS_TO_UPDATE, MAX_UNIT_PRICE, OrderId, Revision, Sku,
    Timestamp,
};
use crate::error::{Error, Problems, Result};

pub const MAX_ITEMS: usize = 100;
pub const MAX_QUANTITY: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Rejected,
    Paid,
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Confirmed,
        Self::Rejected,
        Self::Paid,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::Cancelled,
    ];

    /// The status as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
            Self::Paid => "PAID",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
            Self::Refunded => "REFUNDED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// The changes an order can go through. The store writes each one with a condition built from
/// [`Change::allowed_from`], and explains a failed condition with [`Order::refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New items or currency from the customer.
    Update,
    /// The customer withdraws the order.
    Cancel,
    /// The order processor accepts or refuses the order.
    Confirm,
    Reject,
}

impl Change {
    /// The statuses this change may start from.
    pub fn allowed_from(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Self::Update | Self::Cancel => &[Pending, Confirmed],
            Self::Confirm | Self::Reject => &[Pending],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub sku: Sku,
    pub quantity: i64,
    pub unit_price: i64,
}

/// A line item as a client sends it, before validation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineItemInput {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
}

/// What a customer chooses: currency and items, validated, with the total they imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lines {
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub total: i64,
}

impl Lines {
    /// Validates a currency and items against the contract's limits, reporting every problem.
    pub fn parse(currency: &str, items: &[LineItemInput]) -> Result<Self> {
        let mut problems = Problems::default();
        let currency = problems.check(Currency::parse("currency", currency));
        if items.is_empty() || items.len() > MAX_ITEMS {
            problems.push("items", format!("must hold 1 to {MAX_ITEMS} items"));
        }
        let mut parsed = Vec::with_capacity(items.len().min(MAX_ITEMS));
        for (i, item) in items.iter().enumerate().take(MAX_ITEMS) {
            let sku = problems.check(Sku::parse(&format!("items[{i}].sku"), &item.sku));
            if !(1..=MAX_QUANTITY).contains(&item.quantity) {
                problems.push(format!("items[{i}].quantity"), format!("must be from 1 to {MAX_QUANTITY}"));
            }
            if !(0..=MAX_UNIT_PRICE).contains(&item.unit_price) {
                problems.push(format!("items[{i}].unitPrice"), format!("must be from 0 to {MAX_UNIT_PRICE}"));
            }
            if let Some(sku) = sku {
                parsed.push(LineItem { sku, quantity: item.quantity, unit_price: item.unit_price });
            }
        }
        problems.into_result()?;
        // Bounded by the limits above (100 x 1000 x 10^8 = 10^13), so this cannot overflow.
        let total = parsed.iter().map(|i| i.quantity * i.unit_price).sum();
        Ok(Self { currency: currency.expect("checked above"), items: parsed, total })
    }
}

/// An order, as stored and as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub status: OrderStatus,
    pub items: Vec<LineItem>,
    pub currency: Currency,
    pub total: i64,
    pub paid: i64,
    pub refunded: i64,
    pub version: u64,
    /// Captured plus in-flight payments: what no new payment may push past `total`. Kept beside
    /// `paid` because a DynamoDB condition compares attributes but cannot add them. Not in the API.
    #[serde(default, skip_serializing)]
    pub committed: i64,
    /// What refunds have returned to the card (`refunded` also holds those still `PENDING`). Not in the API.
    #[serde(default, skip_serializing)]
    pub returned: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Every version's change, oldest first (`history.rs`). Stored on the item; not in the API.
    #[serde(default, skip_serializing)]
    pub history: Vec<Revision>,
}

impl Order {
    /// A new `PENDING` order at version 1.
    pub fn new(order_id: OrderId, customer_id: CustomerId, lines: Lines, now: Timestamp) -> Self {
        let created = Revision::lines(&lines, now);
        Self {
            order_id,
            customer_id,
            status: OrderStatus::Pending,
            items: lines.items,
            currency: lines.currency,
            total: lines.total,
            paid: 0,
            refunded: 0,
            version: 1,
            committed: 0,
            returned: 0,
            rejection_reason: None,
            created_at: now,
            updated_at: now,
            history: vec![created],
        }
    }

    /// The order with the status its amounts imply. Payments and refunds move only `paid` and
    /// `refunded` (so concurrent ones need no read-modify-write); `PAID`, `PARTIALLY_REFUNDED`
    /// and `REFUNDED` follow from those amounts on a `CONFIRMED` order.
    pub fn settled(mut self) -> Self {
        if self.status == OrderStatus::Confirmed && self.total > 0 && self.paid == self.total {
            self.status = match self.refunded {
                0 => OrderStatus::Paid,
                r if r < self.paid => OrderStatus::PartiallyRefunded,
                _ => OrderStatus::Refunded,
            };
        }
        self
    }

    /// What a new payment may still take: the total less what is captured or being captured.
    pub fn outstanding(&self) -> i64 {
        self.total - self.committed
    }

    /// Whether money is held on the order: captured and not all returned, or a payment or refund
    /// still in flight.
    pub fn holds_money(&self) -> bool {
        self.committed != self.returned
    }

    /// Why a payment of `amount` in `currency` cannot be captured for this order, if it cannot.
    pub fn payment_refusal(&self, amount: i64, currency: Currency) -> Option<Error> {
        if self.status != OrderStatus::Confirmed {
            return Some(Error::Conflict(format!("order is {} and not payable", self.status.as_str()).into()));
        }
        if currency != self.currency {
            return Some(Error::invalid("currency", format!("must be the order's currency, {}", self.currency)));
        }
        if amount > self.outstanding() {
            return Some(Error::Conflict(format!("amount exceeds the outstanding {}", self.outstanding()).into()));
        }
        self.revisions_refusal(MAX_REVISIONS_TO_PAY)
    }

    /// Refuses more money movements or updates once the order's history is this long (the
    /// limits in `history.rs` keep the order item within DynamoDB's item size).
    pub fn revisions_refusal(&self, max: usize) -> Option<Error> {
        (self.history.len() >= max)
            .then(|| Error::Conflict(format!("the order has reached its limit of {max} changes").into()))
    }

    /// Why `change` cannot apply to this order as it stands, or `None` if it can
    /// (apart from an `If-Match` version, which the caller checks).
    pub fn refusal(&self, change: Change) -> Option<Error> {
        if !change.allowed_from().contains(&self.status) {
            return Some(Error::Conflict(format!("order is {}", self.status.as_str()).into()));
        }
        match change {
            Change::Update if self.committed > 0 => Some(Error::Conflict("order has payments".into())),
            Change::Update => self.revisions_refusal(MAX_REVISIONS_TO_UPDATE),
            Change::Cancel if self.holds_money() => {
                Some(Error::Conflict("money is held on the order; refund it first".into()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sku: &str, quantity: i64, unit_price: i64) -> LineItemInput {
        LineItemInput { sku: sku.into(), quantity, unit_price }
    }

    fn details(err: Error) -> Vec<(String, String)> {
        match err {
            Error::Validation { details, .. } => details.into_iter().map(|d| (d.field, d.problem)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn lines_compute_the_total_in_minor_units() {
        let lines = Lines::parse("USD", &[item("A", 2, 1250), item("B", 1, 99)]).unwrap();
        assert_eq!(lines.total, 2599);
        assert_eq!(lines.currency.as_str(), "USD");
    }

    #[test]
    fn lines_report_every_problem_with_its_field() {
        let err =
            Lines::parse("usd", &[item("ok", 1, 1), item("bad sku", 0, -1), item("x", 1001, 100_000_001)]).unwrap_err();
        let fields: Vec<String> = details(err).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "currency",
                "items[1].sku",
                "items[1].quantity",
                "items[1].unitPrice",
                "items[2].quantity",
                "items[2].unitPrice"
            ]
        );
    }

    #[test]
    fn lines_need_between_one_and_a_hundred_items() {
        assert_eq!(details(Lines::parse("USD", &[]).unwrap_err())[0].0, "items");
        let many: Vec<_> = (0..101).map(|_| item("A", 1, 1)).collect();
        assert_eq!(details(Lines::parse("USD", &many).unwrap_err())[0].0, "items");
        let hundred: Vec<_> = (0..100).map(|_| item("A", 1000, MAX_UNIT_PRICE)).collect();
        assert_eq!(Lines::parse("USD", &hundred).unwrap().total, 10_000_000_000_000);
    }

    fn order(status: OrderStatus, paid: i64) -> Order {
        let lines = Lines::parse("USD", &[item("A", 1, 100)]).unwrap();
        let mut order = Order::new(OrderId::new(), CustomerId::parse("c", "alice").unwrap(), lines, Timestamp::now());
        order.status = status;
        order.paid = paid;
        order.committed = paid;
        order
    }

    #[test]
    fn the_state_machine_allows_only_its_documented_changes() {
        use OrderStatus::*;
        let allowed = |status, change| order(status, 0).refusal(change).is_none();
        for status in OrderStatus::ALL {
            assert_eq!(allowed(status, Change::Update), matches!(status, Pending | Confirmed), "{status:?}");
            assert_eq!(allowed(status, Change::Cancel), matches!(status, Pending | Confirmed), "{status:?}");
            assert_eq!(allowed(status, Change::Confirm), status == Pending, "{status:?}");
            assert_eq!(allowed(status, Change::Reject), status == Pending, "{status:?}");
        }
    }

    #[test]
    fn held_money_blocks_updates_and_cancellation_until_it_is_returned() {
        let mut partly_paid = order(OrderStatus::Confirmed, 50);
        assert!(matches!(partly_paid.refusal(Change::Update), Some(Error::Conflict(_))));
        assert!(matches!(partly_paid.refusal(Change::Cancel), Some(Error::Conflict(_))));
        partly_paid.refunded = 50;
        assert!(partly_paid.refusal(Change::Cancel).is_some(), "a pending refund still holds the money");
        partly_paid.returned = 50;
        assert!(partly_paid.refusal(Change::Cancel).is_none());
        assert!(partly_paid.refusal(Change::Update).is_some(), "a total cannot move under past payments");
    }

    #[test]
    fn paid_and_refunded_statuses_follow_from_the_amounts() {
        let settled = |paid, refunded| {
            let mut o = order(OrderStatus::Confirmed, paid);
            o.refunded = refunded;
            o.settled().status
        };
        assert_eq!(settled(0, 0), OrderStatus::Confirmed);
        assert_eq!(settled(50, 0), OrderStatus::Confirmed);
        assert_eq!(settled(100, 0), OrderStatus::Paid);
        assert_eq!(settled(100, 1), OrderStatus::PartiallyRefunded);
        assert_eq!(settled(100, 100), OrderStatus::Refunded);
        assert_eq!(order(OrderStatus::Cancelled, 0).settled().status, OrderStatus::Cancelled);
    }

    #[test]
    fn statuses_serialize_as_the_contract_spells_them() {
        for status in OrderStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
