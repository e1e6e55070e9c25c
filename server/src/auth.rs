//! What API Gateway's JWT authorizer does, for the local platform: verify the bearer token and
//! hand its claims, flattened to strings, to the functions.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

pub const ISSUER: &str = "local";
pub const AUDIENCE: &str = "platform";
/// The development secret used when `LOCAL_JWT_SECRET` is unset. Local use only.
pub const DEFAULT_SECRET: &str = "local-development-secret";

/// Verifies HS256 tokens issued for the local platform.
#[derive(Clone)]
pub struct Authorizer {
    key: DecodingKey,
    validation: Validation,
}

impl Authorizer {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        Self { key: DecodingKey::from_secret(secret.as_bytes()), validation }
    }

    /// The claims of a valid `Authorization: Bearer <jwt>` header, as API Gateway passes them:
    /// every value a string, arrays as `[a b]`.
    pub fn verify(&self, authorization: Option<&str>) -> Option<BTreeMap<String, String>> {
        // The scheme is case-insensitive (RFC 7235): `Bearer`, `bearer`, `BEARER`.
        let (scheme, token) = authorization?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        let data = jsonwebtoken::decode::<BTreeMap<String, Value>>(token, &self.key, &self.validation).ok()?;
        Some(data.claims.into_iter().map(|(name, value)| (name, flatten(&value))).collect())
    }
}

fn flatten(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(flatten).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

/// A token for `sub` with `scope`, valid for `ttl_seconds`, signed with `secret`.
pub fn mint(secret: &str, sub: &str, scope: &str, ttl_seconds: u64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "scope": scope, "iat": now, "exp": now + ttl_seconds,
    });
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
        .expect("HS256 signing cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_tokens_yield_their_claims_and_anything_else_none() {
        let authorizer = Authorizer::new("s3cret");
        let token = mint("s3cret", "alice", "orders orders:admin", 60);
        let claims = authorizer.verify(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["scope"], "orders orders:admin");

        let foreign = mint("other", "alice", "", 60);
        for header in [None, Some(token.as_str()), Some("Bearer "), Some("Bearer x.y.z")] {
            assert!(authorizer.verify(header).is_none(), "{header:?}");
        }
        assert!(authorizer.verify(Some(&format!("Bearer {foreign}"))).is_none());
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        let authorizer = Authorizer::new("s3cret");
        let token = mint("s3cret", "alice", "orders", 60);
        for scheme in ["Bearer", "bearer", "BEARER"] {
            assert!(authorizer.verify(Some(&format!("{scheme} {token}"))).is_some(), "{scheme}");
        }
        assert!(authorizer.verify(Some(&format!("Basic {token}"))).is_none());
    }

    #[test]
    fn tokens_not_yet_valid_are_refused() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims =
            serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "exp": now + 600, "nbf": now + 300});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(Authorizer::new("k").verify(Some(&format!("Bearer {token}"))).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "exp": now - 10});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(Authorizer::new("k").verify(Some(&format!("Bearer {token}"))).is_none());
    }
}
