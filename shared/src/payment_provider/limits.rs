//! The amounts the provider takes, per currency: a payment outside them is refused with a 400
//! before anything is written, instead of becoming a payment the provider refuses.

use std::ops::RangeInclusive;

use crate::domain::Currency;
use crate::error::FieldProblem;

/// The largest amount Stripe takes in any currency: eight digits of minor units.
const STRIPE_MAX: i64 = 99_999_999;

/// Stripe's documented minimum charge per currency, in minor units (about 0.50 USD each; HUF
/// counts two decimals in the API, JPY none). A currency not listed here is left to the provider,
/// whose refusal is final anyway (`FAILED`, `provider_refused`).
const STRIPE_MINIMUMS: [(&str, i64); 24] = [
    ("USD", 50),
    ("AED", 200),
    ("AUD", 50),
    ("BGN", 100),
    ("BRL", 50),
    ("CAD", 50),
    ("CHF", 50),
    ("CZK", 1500),
    ("DKK", 250),
    ("EUR", 50),
    ("GBP", 30),
    ("HKD", 400),
    ("HUF", 17500),
    ("INR", 50),
    ("JPY", 50),
    ("MXN", 1000),
    ("MYR", 200),
    ("NOK", 300),
    ("NZD", 50),
    ("PLN", 200),
    ("RON", 200),
    ("SEK", 300),
    ("SGD", 50),
    ("THB", 1000),
];

/// Which amounts the provider accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountLimits {
    /// Stripe's published limits, per currency.
    Stripe,
    /// The same range in every currency (the local provider's: `local::provider_emulator`).
    Uniform(RangeInclusive<i64>),
}

impl AmountLimits {
    /// The amounts taken in `currency`, in minor units.
    pub fn range(&self, currency: Currency) -> RangeInclusive<i64> {
        match self {
            Self::Stripe => {
                let minimum = STRIPE_MINIMUMS.iter().find(|(code, _)| *code == currency.as_str()).map_or(1, |m| m.1);
                minimum..=STRIPE_MAX
            }
            Self::Uniform(range) => range.clone(),
        }
    }

    /// `amount` if the provider takes it in `currency`, else the problem, naming the range.
    pub fn check(&self, field: &str, amount: i64, currency: Currency) -> Result<i64, FieldProblem> {
        let range = self.range(currency);
        if range.contains(&amount) {
            Ok(amount)
        } else {
            let (low, high) = range.into_inner();
            Err(FieldProblem::new(
                field,
                format!("must be from {low} to {high} minor units in {currency}, the payment provider's limits"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    #[test]
    fn stripe_takes_from_its_minimum_per_currency_to_eight_digits() {
        let stripe = AmountLimits::Stripe;
        assert_eq!(stripe.range(currency("USD")), 50..=99_999_999);
        assert_eq!(stripe.range(currency("GBP")), 30..=99_999_999);
        assert_eq!(stripe.range(currency("JPY")), 50..=99_999_999);
        assert!(stripe.check("amount", 49, currency("USD")).is_err());
        assert!(stripe.check("amount", 100_000_000, currency("EUR")).is_err());
        assert_eq!(stripe.check("amount", 30, currency("GBP")), Ok(30));
        // Unlisted: the provider decides the minimum.
        assert_eq!(stripe.range(currency("KRW")), 1..=99_999_999);
    }

    #[test]
    fn a_uniform_range_applies_to_every_currency() {
        let local = AmountLimits::Uniform(50..=99_999_999);
        assert_eq!(local.range(currency("GBP")), 50..=99_999_999);
        let problem = local.check("amount", 30, currency("GBP")).unwrap_err();
        assert_eq!(problem.problem, "must be from 50 to 99999999 minor units in GBP, the payment provider's limits");
    }
}
