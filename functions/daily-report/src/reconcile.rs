//! The day's ledger against the provider's books, movement by movement, by our ids (in the
//! provider's metadata). A movement settled that day is compared with the provider's object for
//! its id: a capture `CAPTURED` (a refund `SUCCEEDED`) must be one the provider moved, for the same
//! amount; one `FAILED` must be one the provider did not move, or does not hold. A movement still
//! `PENDING` at the day's end is in flight, and compared on the day it settles. An object the
//! provider made that day under one of our ids that the day's ledger does not hold at all is a
//! mismatch too. The provider's books for the period are held in memory (an entry per movement).

use platform::domain::{Movement as Kind, Timestamp};
use platform::payment_provider::{Held, ProviderBooks};

use crate::movements::Movement;
use crate::summary::{Mismatch, Summary};

/// How much earlier than the day's earliest movement the provider's books are read: a provider
/// object is made after the movement begins, but the provider's clock is not ours.
pub const CLOCK_MARGIN_MILLIS: i64 = 5 * 60 * 1000;

pub struct Comparison {
    books: ProviderBooks,
    day: (Timestamp, Timestamp),
}

impl Comparison {
    /// `books` read from before the day's earliest movement began until the day's end.
    pub fn new(books: ProviderBooks, day: (Timestamp, Timestamp)) -> Self {
        Self { books, day }
    }

    /// Compares one of the day's movements, as it stood at the day's end, with the provider's.
    pub fn movement(&mut self, movement: &Movement, summary: &mut Summary) {
        let entry = &movement.last;
        let (theirs, moved_status) = match entry.movement {
            Kind::Capture => (self.books.captures.remove(&entry.payment_id.to_string()), "CAPTURED"),
            Kind::Refund => {
                let id = entry.refund_id.map(|r| r.to_string()).unwrap_or_default();
                (self.books.refunds.remove(&id), "SUCCEEDED")
            }
        };
        let books = summary.reconciliation.entry(entry.currency.as_str().to_owned()).or_default();
        let ours_moved = match entry.status.as_str() {
            "PENDING" => {
                books.in_flight += 1;
                return;
            }
            status => status == moved_status,
        };
        let theirs_moved = theirs.as_ref().is_some_and(|held| held.moved);
        let (ours_total, theirs_total) = match entry.movement {
            Kind::Capture => (&mut books.captured, &mut books.provider_captured),
            Kind::Refund => (&mut books.refunded, &mut books.provider_refunded),
        };
        *ours_total += if ours_moved { entry.amount } else { 0 };
        *theirs_total += theirs.as_ref().filter(|held| held.moved).map_or(0, |held| held.amount);
        let agree =
            ours_moved == theirs_moved && (!ours_moved || theirs.as_ref().is_some_and(|h| h.amount == entry.amount));
        if !agree {
            books.mismatched += 1;
            summary.mismatch(Mismatch {
                movement: entry.movement.as_str(),
                id: entry.refund_id.map_or_else(|| entry.payment_id.to_string(), |r| r.to_string()),
                currency: entry.currency.as_str().to_owned(),
                ours: Some((entry.status.clone(), entry.amount)),
                theirs: theirs.map(|held| (held.moved, held.amount)),
            });
        }
    }

    /// What is left: the provider's objects made that day that the day's ledger does not hold.
    pub fn finish(self, summary: &mut Summary) {
        let (start, end) = self.day;
        let made_that_day = |held: &Held| (start.millis()..end.millis()).contains(&held.created.millis());
        let left = [(Kind::Capture, self.books.captures), (Kind::Refund, self.books.refunds)];
        for (kind, objects) in left {
            for (id, held) in objects.into_iter().filter(|(_, held)| made_that_day(held)) {
                summary.reconciliation.entry(held.currency.clone()).or_default().mismatched += 1;
                summary.mismatch(Mismatch {
                    movement: kind.as_str(),
                    id,
                    currency: held.currency,
                    ours: None,
                    theirs: Some((held.moved, held.amount)),
                });
            }
        }
        for books in summary.reconciliation.values_mut() {
            books.balanced = books.mismatched == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use platform::domain::{
        Currency, CustomerId, LedgerEntry, OrderId, Payment, PaymentId, PaymentStatus, Refund, RefundId, RefundStatus,
    };

    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn payment(amount: i64, at: &str) -> Payment {
        let customer = CustomerId::parse("c", "alice").unwrap();
        let usd = Currency::parse("c", "USD").unwrap();
        Payment::pending(PaymentId::new(), (&OrderId::new(), &customer), amount, usd, t(at))
    }

    fn capture(payment: &Payment, status: PaymentStatus, at: &str) -> Movement {
        Movement { last: LedgerEntry::capture(payment, status, None, t(at)) }
    }

    fn held(amount: i64, moved: bool, at: &str) -> Held {
        Held { amount, currency: "USD".into(), moved, created: t(at) }
    }

    fn day() -> (Timestamp, Timestamp) {
        (t("2026-11-25T00:00:00Z"), t("2026-11-26T00:00:00Z"))
    }

    #[test]
    fn each_settled_movement_is_compared_with_the_providers_object_for_its_id() {
        // Arrange: agreeing captures (one begun the day before), a refund, one in flight.
        let (ok, late, pending) = (
            payment(1000, "2026-11-25T09:00:00Z"),
            payment(400, "2026-11-24T23:59:59Z"),
            payment(250, "2026-11-25T23:59:00Z"),
        );
        let refund = Refund::pending(RefundId::new(), ok.payment_id, 300, None, t("2026-11-25T12:00:00Z"));
        let mut books = ProviderBooks::default();
        books.captures.insert(ok.payment_id.to_string(), held(1000, true, "2026-11-25T09:00:00Z"));
        books.captures.insert(late.payment_id.to_string(), held(400, true, "2026-11-24T23:59:59Z"));
        books.captures.insert(pending.payment_id.to_string(), held(250, true, "2026-11-25T23:59:01Z"));
        books.refunds.insert(refund.refund_id.to_string(), held(300, true, "2026-11-25T12:00:00Z"));
        let (mut comparison, mut summary) = (Comparison::new(books, day()), Summary::new("2026-11-25"));

        // Act
        comparison.movement(&capture(&ok, PaymentStatus::Captured, "2026-11-25T09:00:01Z"), &mut summary);
        comparison.movement(&capture(&late, PaymentStatus::Captured, "2026-11-25T00:00:02Z"), &mut summary);
        comparison.movement(&capture(&pending, PaymentStatus::Pending, "2026-11-25T23:59:00Z"), &mut summary);
        let refunded = LedgerEntry::refund(&ok, &refund, RefundStatus::Succeeded, None, refund.created_at);
        comparison.movement(&Movement { last: refunded }, &mut summary);
        comparison.finish(&mut summary);

        // Assert
        let books = &summary.reconciliation["USD"];
        assert_eq!(
            (books.captured, books.provider_captured, books.refunded, books.provider_refunded),
            (1400, 1400, 300, 300)
        );
        assert_eq!((books.in_flight, books.mismatched, books.balanced), (1, 0, true));
        assert!(summary.mismatches.is_empty());
    }

    #[test]
    fn a_movement_either_side_holds_differently_is_a_mismatch() {
        // Arrange: ours failed but the provider captured; ours captured but the provider has
        // nothing; the provider captured, that day, a payment of ours the ledger does not hold.
        let (failed, missing, unknown) =
            (payment(500, "2026-11-25T10:00:00Z"), payment(600, "2026-11-25T11:00:00Z"), PaymentId::new());
        let mut books = ProviderBooks::default();
        books.captures.insert(failed.payment_id.to_string(), held(500, true, "2026-11-25T10:00:00Z"));
        books.captures.insert(unknown.to_string(), held(700, true, "2026-11-25T12:00:00Z"));
        books.captures.insert(PaymentId::new().to_string(), held(800, true, "2026-11-24T12:00:00Z"));
        let (mut comparison, mut summary) = (Comparison::new(books, day()), Summary::new("2026-11-25"));

        // Act
        comparison.movement(&capture(&failed, PaymentStatus::Failed, "2026-11-25T10:00:01Z"), &mut summary);
        comparison.movement(&capture(&missing, PaymentStatus::Captured, "2026-11-25T11:00:01Z"), &mut summary);
        comparison.finish(&mut summary);

        // Assert: three mismatches; the day before's object is that day's business.
        let books = &summary.reconciliation["USD"];
        assert_eq!((books.mismatched, books.balanced), (3, false));
        let ids: Vec<&str> = summary.mismatches.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, [failed.payment_id.to_string(), missing.payment_id.to_string(), unknown.to_string()]);
        assert_eq!(summary.mismatches[1].theirs, None);
        assert_eq!(summary.mismatches[2].ours, None);
    }
}
