use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::FieldProblem;

/// A server-minted id: a lowercase, hyphenated UUID, accepted only in that canonical form so
/// that one entity has exactly one spelling.
macro_rules! uuid_id {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn parse(field: &str, s: &str) -> Result<Self, FieldProblem> {
                parse_uuid(s).map(Self).ok_or_else(|| FieldProblem::new(field, "must be a lowercase hyphenated UUID"))
            }

            /// A small, stable number derived from the id, for write-sharded index keys.
            pub fn shard(&self, shards: u32) -> u32 {
                (self.0.as_u128() % u128::from(shards)) as u32
            }

            /// The id of what a caller's `Idempotency-Key` creates: the same caller and key always
            /// name the same resource, so a second execution of the request (after a crash, a lost
            /// reply, an expired lock) meets the first one's write instead of making another.
            pub fn for_key(customer: &CustomerId, idempotency_key: &str) -> Self {
                Self(key_bound_uuid(stringify!($name), customer, idempotency_key))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(OrderId, "A server-minted order id.");
uuid_id!(PaymentId, "A server-minted payment id.");
uuid_id!(RefundId, "A server-minted refund id.");

/// A UUID (version 8, name-based) from SHA-256 of the kind, the customer and the key.
fn key_bound_uuid(kind: &str, customer: &CustomerId, key: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(customer.as_str())
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

fn parse_uuid(s: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(s).ok()?;
    (id.hyphenated().to_string() == s).then_some(id)
}

/// The customer an order belongs to: the `sub` claim of the caller's token.
///
/// Bounded and restricted to characters that cannot collide with the key schema's `#` separator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(String);

impl CustomerId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldProblem> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._:@|+=-".contains(c);
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.chars().all(allowed) {
            return Err(FieldProblem::new(field, "must be 1-128 characters of letters, digits and ._:@|+=-"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stock-keeping unit: 1-64 characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldProblem> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.chars().all(allowed) {
            return Err(FieldProblem::new(field, "must be 1-64 characters of letters, digits and ._-"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_id_accepts_only_the_canonical_form() {
        let id = OrderId::new();
        assert_eq!(OrderId::parse("id", &id.to_string()), Ok(id));
        for bad in [
            id.to_string().to_uppercase(),
            id.to_string().replace('-', ""),
            format!("{{{id}}}"),
            format!("{id}#x"),
            "ORDER#1".into(),
            String::new(),
        ] {
            assert!(OrderId::parse("id", &bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn customer_id_rejects_key_separators_and_oversized_values() {
        assert!(CustomerId::parse("c", "auth0|user-1@example.com").is_ok());
        assert!(CustomerId::parse("c", "a#b").is_err());
        assert!(CustomerId::parse("c", "a b").is_err());
        assert!(CustomerId::parse("c", "").is_err());
        assert!(CustomerId::parse("c", &"x".repeat(129)).is_err());
    }

    #[test]
    fn sku_allows_its_documented_alphabet_only() {
        assert!(Sku::parse("s", "ABC-1.2_x").is_ok());
        assert!(Sku::parse("s", &"a".repeat(64)).is_ok());
        assert!(Sku::parse("s", &"a".repeat(65)).is_err());
        assert!(Sku::parse("s", "a,b").is_err());
        assert!(Sku::parse("s", "é").is_err());
    }

    #[test]
    fn ids_bound_to_a_key_are_stable_per_caller_and_kind() {
        let alice = CustomerId::parse("c", "alice").unwrap();
        let bob = CustomerId::parse("c", "bob").unwrap();
        let id = OrderId::for_key(&alice, "k-1");
        assert_eq!(id, OrderId::for_key(&alice, "k-1"));
        assert_ne!(id, OrderId::for_key(&bob, "k-1"));
        assert_ne!(id, OrderId::for_key(&alice, "k-2"));
        assert_ne!(id.to_string(), PaymentId::for_key(&alice, "k-1").to_string());
        assert_eq!(OrderId::parse("id", &id.to_string()), Ok(id));
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        let id = OrderId::new();
        assert_eq!(id.shard(16), id.shard(16));
        assert!(id.shard(16) < 16);
    }
}
