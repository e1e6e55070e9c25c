//! `payments.csv`: one row per money movement with a step that day, with its status at the day's
//! end. A day's ledger holds each step in the day it happened, a movement's steps adjacent (its
//! key starts with when the movement began), so rows are folded from the pages as they stream:
//! a capture begun and settled that day is one row; one begun at 23:59 and settled after midnight
//! is `PENDING` in its first day and settled in the next.

use platform::Result;
use platform::domain::{LedgerEntry, Timestamp};

use crate::cells::Rows;

pub const HEADER: [&str; 11] = [
    "movement",
    "paymentId",
    "refundId",
    "orderId",
    "customerId",
    "currency",
    "amount",
    "status",
    "failureReason",
    "initiatedAt",
    "settledAt",
];

/// A movement as the day ends: its last step that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub last: LedgerEntry,
}

impl Movement {
    /// When it settled, if it did that day.
    pub fn settled_at(&self) -> Option<Timestamp> {
        (!self.last.is_first_step()).then_some(self.last.at)
    }

    fn push(&self, rows: &mut Rows) -> Result<()> {
        let entry = &self.last;
        rows.push([
            entry.movement.as_str(),
            entry.payment_id.to_string().as_str(),
            &entry.refund_id.map(|r| r.to_string()).unwrap_or_default(),
            &entry.order_id.to_string(),
            entry.customer_id.as_str(),
            entry.currency.as_str(),
            &entry.amount.to_string(),
            &entry.status,
            entry.failure_reason.as_deref().unwrap_or_default(),
            &entry.initiated_at.to_string(),
            &self.settled_at().map(|t| t.to_string()).unwrap_or_default(),
        ])
    }
}

/// Folds one shard's entries, page by page, into movements; a movement is complete once an entry
/// of another one follows it, or the shard ends.
#[derive(Default)]
pub struct Fold {
    open: Option<Movement>,
}

impl Fold {
    /// Takes a page; writes (and hands to `each`) every movement it completes.
    pub fn page(&mut self, entries: Vec<LedgerEntry>, rows: &mut Rows, each: &mut impl FnMut(&Movement)) -> Result<()> {
        for entry in entries {
            match &mut self.open {
                Some(open) if same_movement(&open.last, &entry) => open.last = entry,
                _ => {
                    if let Some(done) = self.open.replace(Movement { last: entry }) {
                        done.push(rows)?;
                        each(&done);
                    }
                }
            }
        }
        Ok(())
    }

    /// The shard ended: the open movement is complete.
    pub fn finish(self, rows: &mut Rows, each: &mut impl FnMut(&Movement)) -> Result<()> {
        if let Some(done) = self.open {
            done.push(rows)?;
            each(&done);
        }
        Ok(())
    }
}

fn same_movement(a: &LedgerEntry, b: &LedgerEntry) -> bool {
    a.payment_id == b.payment_id && a.refund_id == b.refund_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::domain::{CustomerId, OrderId, Payment, PaymentId, PaymentStatus, Refund, RefundId, RefundStatus};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn steps_of_one_movement_fold_into_one_row_even_across_pages() {
        let order = OrderId::new();
        let customer = CustomerId::parse("c", "alice").unwrap();
        let payment = Payment::pending(
            PaymentId::new(),
            (&order, &customer),
            1000,
            platform::domain::Currency::parse("currency", "USD").unwrap(),
            t("2026-11-25T10:00:00Z"),
        );
        let refund = Refund::pending(RefundId::new(), payment.payment_id, 300, None, t("2026-11-25T11:00:00Z"));
        let begun = LedgerEntry::capture(&payment, PaymentStatus::Pending, None, payment.created_at);
        let captured = LedgerEntry::capture(&payment, PaymentStatus::Captured, None, t("2026-11-25T10:00:01Z"));
        let refunding = LedgerEntry::refund(&payment, &refund, RefundStatus::Pending, None, refund.created_at);

        let (mut fold, mut rows, mut seen) = (Fold::default(), Rows::new(), vec![]);
        let mut each = |m: &Movement| seen.push((m.last.status.clone(), m.settled_at()));
        fold.page(vec![begun], &mut rows, &mut each).unwrap();
        fold.page(vec![captured, refunding], &mut rows, &mut each).unwrap();
        fold.finish(&mut rows, &mut each).unwrap();

        assert_eq!(seen, [("CAPTURED".to_owned(), Some(t("2026-11-25T10:00:01Z"))), ("PENDING".to_owned(), None)]);
        assert_eq!(String::from_utf8(rows.into_bytes().unwrap()).unwrap().lines().count(), 2);
    }
}
