//! What API Gateway's JWT authorizer does: verify the bearer token and hand its claims, flattened
//! to strings, to the functions. Two kinds of keys: an issuer's JWKS (RS256 and ES256, as
//! Cognito and other identity providers sign), fetched once and again when a token names a key not
//! seen yet (a rotation), at most once per [`JWKS_MIN_REFRESH`], one fetch at a time and never
//! holding up tokens of keys already known; or an HS256 secret (the local platform, and tests).
//! Issuer, `exp` and `nbf` are checked with no leeway, and the audience as API Gateway checks it:
//! `aud` must name one of the audiences, or, without `aud`, `client_id` must (Cognito's access
//! tokens carry no `aud`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::sync::RwLock;

/// The least time between two fetches of the JWKS, so tokens naming unknown keys cannot make the
/// server hammer the issuer.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// How long fetched keys are used before they are fetched again anyway.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long one fetch of the JWKS may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

/// The claims of a verified token, as API Gateway passes them: every value a string.
pub type Claims = BTreeMap<String, String>;

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authorizer {
    keys: Keys,
    validation: Validation,
    audiences: Arc<[String]>,
}

#[derive(Clone)]
enum Keys {
    Secret(DecodingKey),
    Jwks(Arc<Jwks>),
}

impl Authorizer {
    /// HS256 tokens signed with `secret`, from `issuer`, for one of `audiences`.
    pub fn hs256(secret: &str, issuer: &str, audiences: &[&str]) -> Self {
        let validation = validation(Algorithm::HS256, issuer);
        let keys = Keys::Secret(DecodingKey::from_secret(secret.as_bytes()));
        Self { keys, validation, audiences: audiences.iter().map(|a| a.to_string()).collect() }
    }

    /// RS256 and ES256 tokens from `issuer`, for one of `audiences`, checked against the keys the
    /// JWKS at `jwks_url` publishes.
    pub fn jwks(jwks_url: &str, issuer: &str, audiences: &[&str]) -> Self {
        Self::jwks_refreshing(jwks_url, issuer, audiences, JWKS_MIN_REFRESH)
    }

    /// [`Self::jwks`], fetching the set again at most once per `min_refresh`.
    pub fn jwks_refreshing(jwks_url: &str, issuer: &str, audiences: &[&str], min_refresh: Duration) -> Self {
        let validation = validation(Algorithm::RS256, issuer);
        let keys = Keys::Jwks(Arc::new(Jwks::new(jwks_url, min_refresh)));
        Self { keys, validation, audiences: audiences.iter().map(|a| a.to_string()).collect() }
    }

    /// The claims of a valid `Authorization: Bearer <jwt>` header.
    pub async fn verify(&self, authorization: Option<&str>) -> Option<Claims> {
        // The scheme is case-insensitive (RFC 7235): `Bearer`, `bearer`, `BEARER`.
        let (scheme, token) = authorization?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        let decoded = match &self.keys {
            Keys::Secret(key) => jsonwebtoken::decode::<BTreeMap<String, Value>>(token, key, &self.validation),
            Keys::Jwks(jwks) => {
                let header = jsonwebtoken::decode_header(token).ok()?;
                let (algorithm, key) = jwks.key(header.kid.as_deref()?).await?;
                // The key decides the algorithm, never the token: `none`, or HS256 with a public
                // key as its secret, name an algorithm no key of the set has.
                if header.alg != algorithm {
                    return None;
                }
                let mut validation = self.validation.clone();
                validation.algorithms = vec![algorithm];
                jsonwebtoken::decode::<BTreeMap<String, Value>>(token, &key, &validation)
            }
        };
        let claims = decoded.ok()?.claims;
        if !self.for_us(&claims) {
            return None;
        }
        Some(claims.into_iter().map(|(name, value)| (name, flatten(&value))).collect())
    }

    /// Whether the token is for one of our audiences: its `aud` (a string or a list) names one,
    /// or, when it has no `aud`, its `client_id` does.
    fn for_us(&self, claims: &BTreeMap<String, Value>) -> bool {
        let ours = |value: &Value| value.as_str().is_some_and(|v| self.audiences.iter().any(|a| a == v));
        match claims.get("aud") {
            Some(Value::Array(named)) => named.iter().any(ours),
            Some(named) => ours(named),
            None => claims.get("client_id").is_some_and(ours),
        }
    }
}

fn validation(algorithm: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    // The audience is checked by `for_us`, as API Gateway checks it (`client_id` without `aud`).
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation
}

/// An issuer's published keys, by `kid`, with the algorithm each is for.
struct Jwks {
    url: String,
    min_refresh: Duration,
    http: platform::https::Client,
    /// Read briefly by every verification; never held across a fetch.
    cache: RwLock<Cache>,
    /// Held by the one fetch in flight: a verification that needs the set fetched waits for it
    /// rather than fetching again.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched: Option<Instant>,
}

impl Cache {
    fn get(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        self.keys.get(kid).cloned()
    }

    fn stale(&self) -> bool {
        self.fetched.is_none_or(|at| at.elapsed() > JWKS_MAX_AGE)
    }
}

impl Jwks {
    fn new(url: &str, min_refresh: Duration) -> Self {
        Self {
            url: url.to_owned(),
            min_refresh,
            http: platform::https::client(),
            cache: RwLock::default(),
            fetching: Default::default(),
        }
    }

    fn cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key `kid` names. A known key is used at once (an old set is refreshed by whoever finds
    /// no fetch in flight; the others go on with the key they have). An unknown key waits for the
    /// fetch in flight, or makes one, at most once per `min_refresh`.
    async fn key(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        let (known, stale) = {
            let cache = self.cache();
            (cache.get(kid), cache.stale())
        };
        if let Some(key) = known {
            if stale && let Ok(_fetching) = self.fetching.try_lock() {
                self.refresh().await;
            }
            return self.cache().get(kid).or(Some(key));
        }
        let _fetching = self.fetching.lock().await;
        // The fetch just waited for may have brought it.
        if let Some(key) = self.cache().get(kid) {
            return Some(key);
        }
        self.refresh().await;
        self.cache().get(kid)
    }

    /// Fetches the set again unless the last fetch is too recent; the caller holds `fetching`.
    async fn refresh(&self) {
        {
            let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if cache.fetched.is_some_and(|at| at.elapsed() < self.min_refresh) {
                return;
            }
            cache.fetched = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(keys) => self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()).keys = keys,
            Err(error) => tracing::warn!(url = %self.url, %error, "fetching the JWKS failed; keeping the keys known"),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, (Algorithm, DecodingKey)>, String> {
        let request = hyper::Request::get(&self.url).body(Full::default()).map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()));
            }
            response.into_body().collect().await.map(|b| b.to_bytes()).map_err(|e| e.to_string())
        };
        let bytes = tokio::time::timeout(JWKS_TIMEOUT, exchange).await.map_err(|_| "timed out".to_owned())??;
        let set: JwkSet = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let algorithm = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
                    _ => return None,
                };
                let declared = jwk.common.key_algorithm.map(|a| a.to_string());
                if declared.is_some_and(|d| d != format!("{algorithm:?}")) {
                    return None;
                }
                Some((jwk.common.key_id.clone()?, (algorithm, DecodingKey::from_jwk(jwk).ok()?)))
            })
            .collect())
    }
}

fn flatten(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(flatten).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    const ISSUER: &str = "https://issuer.test/";
    const AUDIENCE: &str = "platform";

    fn authorizer(secret: &str) -> Authorizer {
        Authorizer::hs256(secret, ISSUER, &[AUDIENCE])
    }

    fn mint(secret: &str, sub: &str, scope: &str, ttl_seconds: u64) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = serde_json::json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "scope": scope, "iat": now, "exp": now + ttl_seconds,
        });
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap()
    }

    #[tokio::test]
    async fn valid_tokens_yield_their_claims_and_anything_else_none() {
        let authorizer = authorizer("s3cret");
        let token = mint("s3cret", "alice", "orders orders:admin", 60);
        let claims = authorizer.verify(Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["scope"], "orders orders:admin");

        let foreign = mint("other", "alice", "", 60);
        for header in [None, Some(token.as_str()), Some("Bearer "), Some("Bearer x.y.z")] {
            assert!(authorizer.verify(header).await.is_none(), "{header:?}");
        }
        assert!(authorizer.verify(Some(&format!("Bearer {foreign}"))).await.is_none());
    }

    #[tokio::test]
    async fn the_scheme_is_case_insensitive() {
        let authorizer = authorizer("s3cret");
        let token = mint("s3cret", "alice", "orders", 60);
        for scheme in ["Bearer", "bearer", "BEARER"] {
            assert!(authorizer.verify(Some(&format!("{scheme} {token}"))).await.is_some(), "{scheme}");
        }
        assert!(authorizer.verify(Some(&format!("Basic {token}"))).await.is_none());
    }

    #[tokio::test]
    async fn tokens_not_yet_valid_are_refused() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims =
            serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "exp": now + 600, "nbf": now + 300});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(authorizer("k").verify(Some(&format!("Bearer {token}"))).await.is_none());
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a", "exp": now - 10});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k")).unwrap();
        assert!(authorizer("k").verify(Some(&format!("Bearer {token}"))).await.is_none());
    }
}
