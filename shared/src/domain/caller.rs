use super::CustomerId;
use crate::error::{Error, Result};

/// Who is calling, from the verified token: `sub` and whether `scope` grants `orders:admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub customer_id: CustomerId,
    pub admin: bool,
}

impl Caller {
    pub const ADMIN_SCOPE: &'static str = "orders:admin";

    /// Builds a caller from the `sub` and `scope` claims. A `sub` that is not a valid customer id
    /// is treated like a bad token.
    pub fn from_claims(sub: Option<&str>, scope: Option<&str>) -> Result<Self> {
        let customer_id = sub.and_then(|s| CustomerId::parse("sub", s).ok()).ok_or(Error::Unauthorized)?;
        // API Gateway flattens array claims to "[a b]"; a plain scope claim is space-separated.
        let admin = scope
            .unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
            .any(|s| s == Self::ADMIN_SCOPE);
        Ok(Self { customer_id, admin })
    }

    /// The customer a request acts for: the one it names, which must be the caller unless the
    /// caller is an admin, or else the caller.
    pub fn acting_for(&self, named: Option<CustomerId>) -> Result<CustomerId> {
        match named {
            Some(c) if c != self.customer_id && !self.admin => {
                Err(Error::Forbidden("customerId must be the authenticated customer".into()))
            }
            Some(c) => Ok(c),
            None => Ok(self.customer_id.clone()),
        }
    }

    /// Whether the caller may see or change what belongs to `owner`.
    pub fn can_access(&self, owner: &CustomerId) -> bool {
        self.admin || &self.customer_id == owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(s: &str) -> CustomerId {
        CustomerId::parse("c", s).unwrap()
    }

    #[test]
    fn admin_scope_is_found_in_any_claim_spelling() {
        for scope in ["orders:admin", "orders:read orders:admin", "[orders:read orders:admin]"] {
            assert!(Caller::from_claims(Some("a"), Some(scope)).unwrap().admin, "{scope}");
        }
        assert!(!Caller::from_claims(Some("a"), Some("orders:administrator")).unwrap().admin);
        assert!(!Caller::from_claims(Some("a"), None).unwrap().admin);
    }

    #[test]
    fn a_missing_or_unusable_sub_is_unauthorized() {
        assert!(matches!(Caller::from_claims(None, None), Err(Error::Unauthorized)));
        assert!(matches!(Caller::from_claims(Some("a#b"), None), Err(Error::Unauthorized)));
    }

    #[test]
    fn customers_act_only_for_themselves_and_admins_for_anyone() {
        let alice = Caller::from_claims(Some("alice"), None).unwrap();
        assert_eq!(alice.acting_for(None).unwrap(), customer("alice"));
        assert_eq!(alice.acting_for(Some(customer("alice"))).unwrap(), customer("alice"));
        assert!(matches!(alice.acting_for(Some(customer("bob"))), Err(Error::Forbidden(_))));
        assert!(!alice.can_access(&customer("bob")));

        let admin = Caller::from_claims(Some("ops"), Some("orders:admin")).unwrap();
        assert_eq!(admin.acting_for(Some(customer("bob"))).unwrap(), customer("bob"));
        assert!(admin.can_access(&customer("bob")));
    }
}
