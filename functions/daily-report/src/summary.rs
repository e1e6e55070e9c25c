use std::collections::BTreeMap;

use platform::domain::{Movement as Kind, Order, OrderStatus, Timestamp};
use serde::Serialize;

use crate::movements::Movement;

/// `summary.json`: all money in integer minor units, per currency.
///
/// Orders (those created that day, as they stood at its end): counts by status, and `gross`, the
/// totals of those that still stand (not `REJECTED` or `CANCELLED`). Money (the movements with a
/// step that day, as they stood at its end, `payments.csv`): `paid` sums the captures `CAPTURED`,
/// `refunded` the refunds `SUCCEEDED`, `net` is `paid - refunded`, and `pending` what was still
/// `PENDING`. A movement counts in the day it settled: a capture begun at 23:59 and captured at
/// 00:01 is pending in the first day and paid in the second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub date: String,
    pub orders: Counts,
    pub gross: BTreeMap<String, i64>,
    pub paid: BTreeMap<String, i64>,
    pub refunded: BTreeMap<String, i64>,
    pub net: BTreeMap<String, i64>,
    pub pending: Pending,
    /// Per currency; empty while `reconciliation_pending`.
    pub reconciliation: BTreeMap<String, Reconciliation>,
    /// The movements the ledger and the provider disagree on (the first [`MAX_MISMATCHES`]).
    pub mismatches: Vec<Mismatch>,
    /// The provider's books could not be read when the day was reported: the day's files are
    /// complete, its reconciliation is not, and a later scheduled run completes it.
    pub reconciliation_pending: bool,
    pub generated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub count: u64,
    pub by_status: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub captures: BTreeMap<String, i64>,
    pub refunds: BTreeMap<String, i64>,
}

/// The ledger against the provider's books for one currency, movement by movement
/// (`reconcile.rs`): what the day's settled movements moved by our books and by the provider's,
/// how many were still in flight, and how many disagree. `balanced` when none does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    pub captured: i64,
    pub provider_captured: i64,
    pub refunded: i64,
    pub provider_refunded: i64,
    pub in_flight: u64,
    pub mismatched: u64,
    pub balanced: bool,
}

/// The most mismatches a summary lists (the counts in `reconciliation` are complete).
pub const MAX_MISMATCHES: usize = 100;

/// A movement the books disagree on: ours (its status at the day's end and amount), theirs
/// (whether the provider moved it, and its amount); `None` where one side does not hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub movement: &'static str,
    pub id: String,
    pub currency: String,
    pub ours: Option<(String, i64)>,
    pub theirs: Option<(bool, i64)>,
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
            pending: Pending::default(),
            reconciliation: BTreeMap::new(),
            mismatches: vec![],
            reconciliation_pending: false,
            generated_at: Timestamp::now(),
        }
    }

    /// An order of the day, as it stood at the day's end.
    pub fn add_order(&mut self, order: &Order) {
        self.orders.count += 1;
        *self.orders.by_status.entry(order.status.as_str()).or_default() += 1;
        if !matches!(order.status, OrderStatus::Rejected | OrderStatus::Cancelled) {
            *self.gross.entry(order.currency.as_str().to_owned()).or_default() += order.total;
        }
    }

    /// A movement with a step that day, as it stood at the day's end.
    pub fn add_movement(&mut self, movement: &Movement) {
        let entry = &movement.last;
        let (amount, currency) = (entry.amount, entry.currency.as_str().to_owned());
        let total = match (entry.movement, entry.status.as_str()) {
            (Kind::Capture, "CAPTURED") => &mut self.paid,
            (Kind::Refund, "SUCCEEDED") => &mut self.refunded,
            (Kind::Capture, "PENDING") => &mut self.pending.captures,
            (Kind::Refund, "PENDING") => &mut self.pending.refunds,
            // Failed: no money moved.
            _ => return,
        };
        *total.entry(currency).or_default() += amount;
    }

    /// Lists a mismatch, up to [`MAX_MISMATCHES`].
    pub fn mismatch(&mut self, mismatch: Mismatch) {
        if self.mismatches.len() < MAX_MISMATCHES {
            self.mismatches.push(mismatch);
        }
    }

    /// Sets `net`; without the provider's books (it could not be reached) the reconciliation is
    /// left pending.
    pub fn close(&mut self, reconciled: bool) {
        for currency in self.paid.keys().chain(self.refunded.keys()) {
            let net = self.paid.get(currency).unwrap_or(&0) - self.refunded.get(currency).unwrap_or(&0);
            self.net.insert(currency.clone(), net);
        }
        if !reconciled {
            self.reconciliation.clear();
            self.mismatches.clear();
            self.reconciliation_pending = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::domain::{
        Currency, CustomerId, LedgerEntry, LineItemInput, Lines, OrderId, Payment, PaymentId, PaymentStatus, Refund,
        RefundId, RefundStatus,
    };

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn order(currency: &str, total: i64, status: OrderStatus) -> Order {
        let lines =
            Lines::parse(currency, &[LineItemInput { sku: "A".into(), quantity: 1, unit_price: total }]).unwrap();
        let mut o = Order::new(OrderId::new(), CustomerId::parse("c", "alice").unwrap(), lines, Timestamp::now());
        o.status = status;
        o
    }

    fn payment(amount: i64, at: &str) -> Payment {
        let customer = CustomerId::parse("c", "alice").unwrap();
        Payment::pending(
            PaymentId::new(),
            (&OrderId::new(), &customer),
            amount,
            Currency::parse("c", "USD").unwrap(),
            t(at),
        )
    }

    fn moved(entry: LedgerEntry) -> Movement {
        Movement { last: entry }
    }

    #[test]
    fn orders_count_by_status_and_cancelled_ones_add_no_gross() {
        let mut summary = Summary::new("2026-11-25");
        summary.add_order(&order("USD", 1000, OrderStatus::Paid));
        summary.add_order(&order("EUR", 700, OrderStatus::Cancelled));
        summary.add_order(&order("EUR", 300, OrderStatus::Pending));
        assert_eq!(summary.orders.count, 3);
        assert_eq!((summary.orders.by_status["PAID"], summary.orders.by_status["REFUNDED"]), (1, 0));
        assert_eq!(summary.gross, BTreeMap::from([("EUR".into(), 300), ("USD".into(), 1000)]));
    }

    #[test]
    fn money_counts_in_the_day_it_settled() {
        let mut summary = Summary::new("2026-11-25");
        let captured = payment(1000, "2026-11-25T09:00:00Z");
        let at = t("2026-11-25T09:00:01Z");
        summary.add_movement(&moved(LedgerEntry::capture(&captured, PaymentStatus::Captured, None, at)));
        let late = payment(400, "2026-11-24T23:59:59Z");
        let at = t("2026-11-25T00:00:02Z");
        summary.add_movement(&moved(LedgerEntry::capture(&late, PaymentStatus::Captured, None, at)));
        let pending = payment(250, "2026-11-25T23:59:00Z");
        summary.add_movement(&moved(LedgerEntry::capture(&pending, PaymentStatus::Pending, None, pending.created_at)));
        let refund = Refund::pending(RefundId::new(), captured.payment_id, 300, None, t("2026-11-25T12:00:00Z"));
        let at = refund.created_at;
        summary.add_movement(&moved(LedgerEntry::refund(&captured, &refund, RefundStatus::Succeeded, None, at)));

        summary.close(true);

        assert_eq!((summary.paid["USD"], summary.refunded["USD"], summary.net["USD"]), (1400, 300, 1100));
        assert_eq!(summary.pending.captures["USD"], 250);
        assert!(!summary.reconciliation_pending);
    }
}
