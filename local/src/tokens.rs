//! The local platform's development tokens: HS256 JWTs with `iss` = `local`, `aud` = `platform`,
//! signed with `LOCAL_JWT_SECRET` (by default [`DEFAULT_SECRET`]). Never in a deployed server,
//! which verifies the issuer's tokens against its JWKS.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use server::auth::Authorizer;

pub const ISSUER: &str = "local";
pub const AUDIENCE: &str = "platform";
/// The development secret used when `LOCAL_JWT_SECRET` is unset.
pub const DEFAULT_SECRET: &str = "local-development-secret";

/// The authorizer of the tokens [`mint`] makes with `secret`.
pub fn authorizer(secret: &str) -> Authorizer {
    Authorizer::hs256(secret, ISSUER, &[AUDIENCE])
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

    #[tokio::test]
    async fn minted_tokens_pass_their_authorizer_and_no_other() {
        let token = mint("s3cret", "alice", "orders orders:admin", 60);
        let claims = authorizer("s3cret").verify(Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!((claims["sub"].as_str(), claims["scope"].as_str()), ("alice", "orders orders:admin"));
        assert!(authorizer("other").verify(Some(&format!("Bearer {token}"))).await.is_none());
    }
}
