use std::collections::BTreeMap;

use platform::domain::{Order, OrderStatus, Timestamp};
use serde::Serialize;

/// `summary.json`: counts by status and money per currency, all integer minor units.
///
/// `gross` sums the totals of the day's orders that still stand (not `REJECTED` or
/// `CANCELLED`); `paid` and `refunded` sum what moved on all of them; `net` is `paid - refunded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub date: String,
    pub orders: Counts,
    pub gross: BTreeMap<String, i64>,
    pub paid: BTreeMap<String, i64>,
    pub refunded: BTreeMap<String, i64>,
    pub net: BTreeMap<String, i64>,
    pub generated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub count: u64,
    pub by_status: BTreeMap<&'static str, u64>,
}

impl Summary {
    /// A day with nothing in it yet: every status at zero.
    pub fn new(day: &str) -> Self {
        Self {
            date: day.to_owned(),
            orders: Counts { count: 0, by_status: OrderStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect() },
            gross: BTreeMap::new(),
            paid: BTreeMap::new(),
            refunded: BTreeMap::new(),
            net: BTreeMap::new(),
            generated_at: Timestamp::now(),
        }
    }

    pub fn add(&mut self, order: &Order) {
        let currency = order.currency.as_str().to_owned();
        self.orders.count += 1;
        *self.orders.by_status.entry(order.status.as_str()).or_default() += 1;
        if !matches!(order.status, OrderStatus::Rejected | OrderStatus::Cancelled) {
            *self.gross.entry(currency.clone()).or_default() += order.total;
        }
        *self.paid.entry(currency.clone()).or_default() += order.paid;
        *self.refunded.entry(currency.clone()).or_default() += order.refunded;
        *self.net.entry(currency).or_default() += order.paid - order.refunded;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::domain::{CustomerId, LineItemInput, Lines, OrderId};

    fn order(currency: &str, total: i64, status: OrderStatus, paid: i64, refunded: i64) -> Order {
        let lines =
            Lines::parse(currency, &[LineItemInput { sku: "A".into(), quantity: 1, unit_price: total }]).unwrap();
        let mut o = Order::new(OrderId::new(), CustomerId::parse("c", "alice").unwrap(), lines, Timestamp::now());
        (o.status, o.paid, o.refunded) = (status, paid, refunded);
        o
    }

    #[test]
    fn totals_are_kept_per_currency_and_cancelled_orders_add_no_gross() {
        let mut summary = Summary::new("2026-11-25");
        summary.add(&order("USD", 1000, OrderStatus::Paid, 1000, 0));
        summary.add(&order("USD", 500, OrderStatus::PartiallyRefunded, 500, 200));
        summary.add(&order("EUR", 700, OrderStatus::Cancelled, 0, 0));
        summary.add(&order("EUR", 300, OrderStatus::Pending, 0, 0));

        assert_eq!(summary.orders.count, 4);
        assert_eq!(summary.orders.by_status["PAID"], 1);
        assert_eq!(summary.orders.by_status["REFUNDED"], 0);
        assert_eq!(summary.gross, BTreeMap::from([("EUR".into(), 300), ("USD".into(), 1500)]));
        assert_eq!(summary.paid["USD"], 1500);
        assert_eq!(summary.refunded["USD"], 200);
        assert_eq!(summary.net, BTreeMap::from([("EUR".into(), 0), ("USD".into(), 1300)]));
    }
}
