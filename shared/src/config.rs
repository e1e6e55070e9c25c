//! Settings from the environment, which `template.yaml` (or the local platform) provides.
//!
//! Each process reads its settings once, at start. A variable that is required and missing, or
//! set to something that does not parse, is a [`ConfigError`] naming it: the cold start fails
//! where the operator sees it, instead of running with a silent default.

use std::str::FromStr;

/// The table of orders, payments and idempotency records.
pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
/// The queue events are published to.
pub const ORDER_QUEUE_URL: &str = "ORDER_QUEUE_URL";
/// The bucket the daily report writes to.
pub const EXPORTS_BUCKET: &str = "EXPORTS_BUCKET";
/// The secret that signs list cursors, for local use.
pub const CURSOR_SECRET: &str = "CURSOR_SECRET";
/// The Secrets Manager secret holding it (in AWS).
pub const CURSOR_SECRET_ARN: &str = "CURSOR_SECRET_ARN";

/// The payment provider's API (`https://api.stripe.com` when unset).
pub const PAYMENT_PROVIDER_URL: &str = "PAYMENT_PROVIDER_URL";
/// The Secrets Manager secret holding the provider's secret API key (in AWS).
pub const PAYMENT_PROVIDER_KEY_SECRET: &str = "PAYMENT_PROVIDER_KEY_SECRET";
/// The provider's secret API key itself, for local use instead of the secret.
pub const PAYMENT_PROVIDER_API_KEY: &str = "PAYMENT_PROVIDER_API_KEY";
/// How long a call to the provider may take, in milliseconds (3000 when unset).
pub const PAYMENT_PROVIDER_TIMEOUT_MS: &str = "PAYMENT_PROVIDER_TIMEOUT_MS";
/// The Secrets Manager secret holding the key the provider signs webhooks with (in AWS).
pub const PAYMENT_WEBHOOK_SECRET: &str = "PAYMENT_WEBHOOK_SECRET";
/// The webhook signing key itself, for local use instead of the secret.
pub const PAYMENT_WEBHOOK_KEY: &str = "PAYMENT_WEBHOOK_KEY";

/// Comma-separated SKUs the order processor rejects.
pub const DENIED_SKUS: &str = "DENIED_SKUS";
/// The largest order total (minor units) the order processor accepts without review.
pub const MAX_ORDER_TOTAL: &str = "MAX_ORDER_TOTAL";

#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error("the environment variable {name} is {value:?}, which is not {expected}")]
    Invalid { name: &'static str, value: String, expected: &'static str },
    #[error("the secret named by {name} could not be read: {problem}")]
    Secret { name: &'static str, problem: String },
}

/// The message itself: a `main` that returns this error prints its `Debug`, and that is what the
/// operator reads in the function's init log.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Where settings are read from: the process environment, or a map in tests.
pub trait Vars {
    /// The value of `name`; unset and empty are the same.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env;

impl Vars for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Vars for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()).filter(|v| !v.is_empty())
    }
}

/// A required variable of the process environment.
pub fn var(name: &'static str) -> Result<String, ConfigError> {
    Env.get(name).ok_or(ConfigError::Missing(name))
}

/// An optional variable that must parse as `T` when it is set; `expected` says what it must be.
pub fn parse<T: FromStr>(
    vars: &impl Vars,
    name: &'static str,
    expected: &'static str,
) -> Result<Option<T>, ConfigError> {
    vars.get(name)
        .map(|value| value.trim().parse().map_err(|_| ConfigError::Invalid { name, value, expected }))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_or_empty_optional_variable_is_none_and_a_bad_one_names_itself() {
        assert_eq!(parse::<i64>(&[("N", "")], "N", "a number"), Ok(None));
        assert_eq!(parse::<i64>(&[], "N", "a number"), Ok(None));
        assert_eq!(parse::<i64>(&[("N", " 42 ")], "N", "a number"), Ok(Some(42)));
        let err = parse::<i64>(&[("N", "10k")], "N", "a number").unwrap_err();
        assert_eq!(err.to_string(), r#"the environment variable N is "10k", which is not a number"#);
    }
}
