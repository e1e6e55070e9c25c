use std::collections::HashSet;

use super::{MAX_ITEMS, MAX_QUANTITY, MAX_UNIT_PRICE, Order};
use crate::config::{self, ConfigError, Vars};

/// The order processor's business rules: whether a new order is accepted, and if not, why.
#[derive(Debug, Clone, Default)]
pub struct OrderRules {
    /// SKUs that cannot be sold (withdrawn, recalled, embargoed).
    pub denied_skus: HashSet<String>,
    /// The largest total accepted without manual review, in minor units; `None` for no limit.
    pub max_total: Option<i64>,
}

impl OrderRules {
    /// Rules from a comma-separated deny-list and an optional total limit.
    pub fn new(denied_skus: &str, max_total: Option<i64>) -> Self {
        let denied_skus = denied_skus.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Self { denied_skus, max_total }
    }

    /// The rules the deployment configures: `DENIED_SKUS` and `MAX_ORDER_TOTAL` (both optional;
    /// a total that is not a whole number of minor units refuses to start).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&config::Env)
    }

    pub fn from_vars(vars: &impl Vars) -> Result<Self, ConfigError> {
        const EXPECTED: &str = "a whole number of minor units";
        let max_total = match config::parse::<i64>(vars, config::MAX_ORDER_TOTAL, EXPECTED)? {
            Some(max) if max < 0 => {
                let value = max.to_string();
                return Err(ConfigError::Invalid { name: config::MAX_ORDER_TOTAL, value, expected: EXPECTED });
            }
            max => max,
        };
        Ok(Self::new(&vars.get(config::DENIED_SKUS).unwrap_or_default(), max_total))
    }

    /// `Err(reason)` when the order must be rejected. The API validated the request already;
    /// the limits are checked again because the queue is not the API.
    pub fn check(&self, order: &Order) -> Result<(), String> {
        if order.items.is_empty() || order.items.len() > MAX_ITEMS {
            return Err(format!("an order holds 1 to {MAX_ITEMS} items"));
        }
        for item in &order.items {
            if !(1..=MAX_QUANTITY).contains(&item.quantity) || !(0..=MAX_UNIT_PRICE).contains(&item.unit_price) {
                return Err(format!("item {} has a quantity or price out of range", item.sku.as_str()));
            }
            if self.denied_skus.contains(item.sku.as_str()) {
                return Err(format!("item {} is not available", item.sku.as_str()));
            }
        }
        let total: i64 = order.items.iter().map(|i| i.quantity * i.unit_price).sum();
        if total != order.total {
            return Err("the total does not match the items".into());
        }
        if total == 0 {
            return Err("the order total is zero".into());
        }
        if let Some(max) = self.max_total.filter(|max| total > *max) {
            return Err(format!("the total exceeds {max}, the most accepted without review"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerId, LineItemInput, Lines, OrderId, Timestamp};

    fn order(items: &[(&str, i64, i64)]) -> Order {
        let input: Vec<_> = items
            .iter()
            .map(|(sku, q, p)| LineItemInput { sku: (*sku).into(), quantity: *q, unit_price: *p })
            .collect();
        Order::new(
            OrderId::new(),
            CustomerId::parse("c", "alice").unwrap(),
            Lines::parse("USD", &input).unwrap(),
            Timestamp::now(),
        )
    }

    #[test]
    fn ordinary_orders_are_accepted() {
        assert_eq!(OrderRules::new("", None).check(&order(&[("A", 2, 100)])), Ok(()));
    }

    #[test]
    fn denied_skus_zero_totals_and_large_totals_are_rejected_with_a_reason() {
        let rules = OrderRules::new(" RECALLED-1, BANNED ", Some(10_000));
        assert_eq!(rules.check(&order(&[("A", 1, 5), ("BANNED", 1, 5)])), Err("item BANNED is not available".into()));
        assert_eq!(rules.check(&order(&[("A", 1, 0)])), Err("the order total is zero".into()));
        assert!(rules.check(&order(&[("A", 2, 5_001)])).unwrap_err().contains("exceeds 10000"));
        assert_eq!(rules.check(&order(&[("A", 2, 5_000)])), Ok(()));
    }

    #[test]
    fn rules_come_from_the_environment_and_a_bad_limit_refuses_to_start() {
        let rules = OrderRules::from_vars(&[("DENIED_SKUS", "A,B"), ("MAX_ORDER_TOTAL", "500")]).unwrap();
        assert_eq!((rules.denied_skus.len(), rules.max_total), (2, Some(500)));
        assert_eq!(OrderRules::from_vars(&[]).unwrap().max_total, None);
        for bad in ["10k", "-1", "1.5", "ten"] {
            let err = OrderRules::from_vars(&[("MAX_ORDER_TOTAL", bad)]).unwrap_err();
            assert!(err.to_string().contains("MAX_ORDER_TOTAL"), "{err}");
        }
    }

    #[test]
    fn a_total_that_disagrees_with_the_items_is_rejected() {
        let mut tampered = order(&[("A", 1, 100)]);
        tampered.total = 1;
        assert!(OrderRules::default().check(&tampered).is_err());
    }
}
