use std::collections::BTreeMap;

use platform::domain::{Movement as Kind, Order, OrderStatus, Timestamp};
use platform::payment_provider::ProviderTotals;
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

/// The ledger against the provider's own books, for the movements begun that day (the provider
/// dates a charge or refund by when it made it, which is when we asked). What was `PENDING` at
/// the day's end may or may not have happened at the provider, so the day is `balanced` when the
/// provider's figure is at least what the ledger settled and at most that plus what was pending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    pub captured: i64,
    pub captures_pending: i64,
    pub provider_captured: i64,
    pub refunded: i64,
    pub refunds_pending: i64,
    pub provider_refunded: i64,
    pub balanced: bool,
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

    /// A movement with a step that day, as it stood at the day's end. A movement still `PENDING`
    /// then began that day; a settled one may have begun before (then only the provider's books
    /// of that earlier day hold it).
    pub fn add_movement(&mut self, movement: &Movement) {
        let entry = &movement.last;
        let (amount, currency) = (entry.amount, entry.currency.as_str().to_owned());
        let begun_today = entry.initiated_at.day() == self.date;
        let books = self.reconciliation.entry(currency.clone()).or_default();
        let total = match (entry.movement, entry.status.as_str()) {
            (Kind::Capture, "CAPTURED") => {
                books.captured += if begun_today { amount } else { 0 };
                &mut self.paid
            }
            (Kind::Refund, "SUCCEEDED") => {
                books.refunded += if begun_today { amount } else { 0 };
                &mut self.refunded
            }
            (Kind::Capture, "PENDING") => {
                books.captures_pending += amount;
                &mut self.pending.captures
            }
            (Kind::Refund, "PENDING") => {
                books.refunds_pending += amount;
                &mut self.pending.refunds
            }
            // Failed: no money moved.
            _ => return,
        };
        *total.entry(currency).or_default() += amount;
    }

    /// Sets `net`, and sets the provider's side of the reconciliation; without the provider's
    /// books (it could not be reached) the reconciliation is left pending.
    pub fn close(&mut self, provider: Option<&ProviderTotals>) {
        for currency in self.paid.keys().chain(self.refunded.keys()) {
            let net = self.paid.get(currency).unwrap_or(&0) - self.refunded.get(currency).unwrap_or(&0);
            self.net.insert(currency.clone(), net);
        }
        let Some(provider) = provider else {
            self.reconciliation.clear();
            self.reconciliation_pending = true;
            return;
        };
        for currency in provider.captured.keys().chain(provider.refunded.keys()) {
            self.reconciliation.entry(currency.clone()).or_default();
        }
        for (currency, books) in &mut self.reconciliation {
            books.provider_captured = provider.captured.get(currency).copied().unwrap_or_default();
            books.provider_refunded = provider.refunded.get(currency).copied().unwrap_or_default();
            let within = |settled: i64, pending: i64, theirs: i64| (settled..=settled + pending).contains(&theirs);
            books.balanced = within(books.captured, books.captures_pending, books.provider_captured)
                && within(books.refunded, books.refunds_pending, books.provider_refunded);
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
    fn money_counts_in_the_day_it_settled_and_the_provider_balances_within_what_was_pending() {
        let mut summary = Summary::new("2026-11-25");
        let captured = payment(1000, "2026-11-25T09:00:00Z");
        summary.add_movement(&moved(LedgerEntry::capture(
            &captured,
            PaymentStatus::Captured,
            None,
            t("2026-11-25T09:00:01Z"),
        )));
        let late = payment(400, "2026-11-24T23:59:59Z");
        summary.add_movement(&moved(LedgerEntry::capture(
            &late,
            PaymentStatus::Captured,
            None,
            t("2026-11-25T00:00:02Z"),
        )));
        let pending = payment(250, "2026-11-25T23:59:00Z");
        summary.add_movement(&moved(LedgerEntry::capture(&pending, PaymentStatus::Pending, None, pending.created_at)));
        let refund = Refund::pending(RefundId::new(), captured.payment_id, 300, None, t("2026-11-25T12:00:00Z"));
        summary.add_movement(&moved(LedgerEntry::refund(
            &captured,
            &refund,
            RefundStatus::Succeeded,
            None,
            refund.created_at,
        )));

        // The provider captured the pending one too, but not the late one (it was made yesterday).
        let usd = |n: i64| BTreeMap::from([("USD".to_owned(), n)]);
        summary.close(Some(&ProviderTotals { captured: usd(1250), refunded: usd(300) }));

        assert_eq!((summary.paid["USD"], summary.refunded["USD"], summary.net["USD"]), (1400, 300, 1100));
        assert_eq!(summary.pending.captures["USD"], 250);
        let books = &summary.reconciliation["USD"];
        assert_eq!((books.captured, books.captures_pending, books.provider_captured), (1000, 250, 1250));
        assert!(books.balanced);

        summary.close(Some(&ProviderTotals { captured: usd(1500), refunded: usd(300) }));
        assert!(!summary.reconciliation["USD"].balanced, "more than the ledger can explain");
    }
}
