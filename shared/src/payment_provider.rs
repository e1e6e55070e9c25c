//! The payment provider: the seam where a real card processor plugs in. The built-in sandbox
//! answers the contract's test card tokens.

use std::future::Future;

use crate::domain::Currency;
use crate::error::{Error, Result};

/// A card processor. Amounts are minor units of `currency`.
pub trait PaymentProvider: Send + Sync {
    /// Captures `amount` from the card `source`; returns the processor's reference.
    /// A decline is [`Error::PaymentDeclined`], an unusable source a validation error.
    fn capture(&self, source: &str, amount: i64, currency: Currency) -> impl Future<Output = Result<String>> + Send;

    /// Gives back a capture that could not be recorded (the order changed in between).
    fn void(&self, reference: &str) -> impl Future<Output = Result<()>> + Send;

    /// Returns `amount` of a capture to the card.
    fn refund(&self, reference: &str, amount: i64) -> impl Future<Output = Result<()>> + Send;
}

/// The built-in sandbox: `tok_visa` and `tok_mastercard` capture; `tok_chargeDeclined` and
/// `tok_insufficientFunds` decline; any other token is invalid.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxProvider;

impl PaymentProvider for SandboxProvider {
    async fn capture(&self, source: &str, _amount: i64, _currency: Currency) -> Result<String> {
        match source {
            "tok_visa" | "tok_mastercard" => Ok(format!("sandbox_ch_{}", uuid::Uuid::new_v4().simple())),
            "tok_chargeDeclined" => Err(Error::PaymentDeclined("the card was declined".into())),
            "tok_insufficientFunds" => Err(Error::PaymentDeclined("the card has insufficient funds".into())),
            _ => Err(Error::invalid("source", "is not a card token the provider knows")),
        }
    }

    async fn void(&self, _reference: &str) -> Result<()> {
        Ok(())
    }

    async fn refund(&self, _reference: &str, _amount: i64) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sandbox_answers_the_documented_tokens() {
        let usd = Currency::parse("c", "USD").unwrap();
        for ok in ["tok_visa", "tok_mastercard"] {
            assert!(SandboxProvider.capture(ok, 100, usd).await.is_ok());
        }
        for declined in ["tok_chargeDeclined", "tok_insufficientFunds"] {
            assert!(matches!(SandboxProvider.capture(declined, 100, usd).await, Err(Error::PaymentDeclined(_))));
        }
        for invalid in ["", "tok_amex", "TOK_VISA"] {
            assert!(matches!(SandboxProvider.capture(invalid, 100, usd).await, Err(Error::Validation { .. })));
        }
    }
}
