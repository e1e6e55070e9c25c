//! The JWKS authorizer against an issuer served on loopback, with the keys in `tests/keys/`:
//! RS256 and ES256 accepted, a rotated key accepted once the set is fetched again, and everything
//! API Gateway's authorizer refuses refused here too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use server::auth::Authorizer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

const ISSUER: &str = "https://issuer.test/";
const AUDIENCE: &str = "platform";
const REFRESH: Duration = Duration::from_millis(200);

fn keys() -> Value {
    serde_json::from_str(include_str!("keys/jwks.json")).unwrap()
}

/// An identity provider's JWKS endpoint: publishes the keys named in `published`, counts fetches.
struct Issuer {
    url: String,
    published: Arc<Mutex<Vec<&'static str>>>,
    fetches: Arc<AtomicUsize>,
    /// While set, each answer waits this long first (an issuer that stalls).
    stall: Arc<std::sync::Mutex<Duration>>,
}

async fn issuer(kids: &[&'static str]) -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let published = Arc::new(Mutex::new(kids.to_vec()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let stall = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let (serving, counting, stalling) = (published.clone(), fetches.clone(), stall.clone());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (serving, counting, stalling) = (serving.clone(), counting.clone(), stalling.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                counting.fetch_add(1, Ordering::SeqCst);
                let wait = *stalling.lock().unwrap();
                tokio::time::sleep(wait).await;
                let all = keys();
                let set: Vec<Value> = serving.lock().await.iter().map(|kid| all[*kid].clone()).collect();
                let body = json!({ "keys": set }).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    Issuer { url, published, fetches, stall }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "scope": "orders", "iat": now(), "exp": now() + 600})
}

/// A token signed with the test key `kid` (its PEM in `tests/keys/`).
fn signed(kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(format!("{}/tests/keys/{kid}.pem", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (algorithm, key) = if kid.starts_with("ec") {
        (Algorithm::ES256, EncodingKey::from_ec_pem(&pem).unwrap())
    } else {
        (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem).unwrap())
    };
    let header = Header { kid: Some(kid.to_owned()), ..Header::new(algorithm) };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn authorizer(issuer: &Issuer) -> Authorizer {
    Authorizer::jwks_refreshing(&issuer.url, ISSUER, &[AUDIENCE], REFRESH)
}

#[tokio::test]
async fn rs256_and_es256_tokens_of_published_keys_are_accepted_with_their_claims() {
    let issuer = issuer(&["rsa-1", "ec-1"]).await;
    let authorizer = authorizer(&issuer).await;
    for kid in ["rsa-1", "ec-1"] {
        let claims = authorizer.verify(Some(&bearer(&signed(kid, &claims())))).await.expect(kid);
        assert_eq!((claims["sub"].as_str(), claims["scope"].as_str()), ("alice", "orders"), "{kid}");
    }
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1, "the set is fetched once and kept");
}

#[tokio::test]
async fn a_token_of_a_rotated_key_is_accepted_once_the_set_is_fetched_again() {
    let issuer = issuer(&["rsa-1"]).await;
    let authorizer = authorizer(&issuer).await;
    assert!(authorizer.verify(Some(&bearer(&signed("rsa-1", &claims())))).await.is_some());
    let rotated = signed("rsa-2", &claims());
    assert!(authorizer.verify(Some(&bearer(&rotated))).await.is_none(), "not published yet");

    issuer.published.lock().await.push("rsa-2");
    // Unknown keys do not make it fetch more than once per REFRESH.
    let before = issuer.fetches.load(Ordering::SeqCst);
    assert!(authorizer.verify(Some(&bearer(&rotated))).await.is_none());
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), before, "fetched again too soon");
    tokio::time::sleep(REFRESH).await;

    assert!(authorizer.verify(Some(&bearer(&rotated))).await.is_some(), "accepted after the refresh");
    assert!(authorizer.verify(Some(&bearer(&signed("rsa-1", &claims())))).await.is_some());
}

#[tokio::test]
async fn wrong_keys_algorithms_issuers_audiences_and_times_are_refused() {
    let issuer = issuer(&["rsa-1", "ec-1"]).await;
    let authorizer = authorizer(&issuer).await;
    let with = |change: Value| {
        let mut claims = claims();
        claims.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        claims
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let public_pem = std::fs::read(format!("{}/tests/keys/rsa-1.pub.pem", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let hs256_with_public_key = jsonwebtoken::encode(
        &Header { kid: Some("rsa-1".into()), ..Header::new(Algorithm::HS256) },
        &claims(),
        &EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    let mut unknown_kid = signed("rsa-2", &claims());
    let refused = [
        ("a key the issuer does not publish", std::mem::take(&mut unknown_kid)),
        ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "kid": "rsa-1"})), b64(&claims()))),
        ("HS256 with the public key as secret", hs256_with_public_key),
        ("another issuer", signed("rsa-1", &with(json!({"iss": "https://elsewhere.test/"})))),
        ("another audience", signed("ec-1", &with(json!({"aud": "someone-else"})))),
        ("expired", signed("rsa-1", &with(json!({"exp": now() - 5})))),
        ("not yet valid", signed("ec-1", &with(json!({"nbf": now() + 300})))),
        ("no subject", signed("rsa-1", &json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600}))),
    ];
    for (why, token) in refused {
        assert!(authorizer.verify(Some(&bearer(&token))).await.is_none(), "{why}");
    }
    // An ES256 key named by an RS256 token: the key decides the algorithm.
    let mut mixed = signed("rsa-1", &claims()).split('.').map(str::to_owned).collect::<Vec<_>>();
    mixed[0] = b64(&json!({"alg": "RS256", "kid": "ec-1", "typ": "JWT"}));
    assert!(authorizer.verify(Some(&bearer(&mixed.join(".")))).await.is_none());
}

#[tokio::test]
async fn a_stalled_fetch_holds_up_no_token_of_a_key_already_known_and_is_made_once() {
    // Arrange: rsa-1 known; then the issuer stalls for two seconds an answer.
    let issuer = issuer(&["rsa-1"]).await;
    let authorizer = Arc::new(authorizer(&issuer).await);
    assert!(authorizer.verify(Some(&bearer(&signed("rsa-1", &claims())))).await.is_some());
    tokio::time::sleep(REFRESH).await;
    *issuer.stall.lock().unwrap() = Duration::from_secs(2);
    issuer.published.lock().await.push("rsa-2");

    // Act: two tokens of a new key wait for one fetch; a token of the known key meanwhile.
    let rotated = |authorizer: Arc<Authorizer>| async move {
        authorizer.verify(Some(&bearer(&signed("rsa-2", &claims())))).await.is_some()
    };
    let (first, second) = (tokio::spawn(rotated(authorizer.clone())), tokio::spawn(rotated(authorizer.clone())));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let known =
        tokio::time::timeout(Duration::from_secs(1), authorizer.verify(Some(&bearer(&signed("rsa-1", &claims())))))
            .await;

    // Assert: the known key answered while the fetch stalled; the new key after it, fetched once.
    assert!(matches!(known, Ok(Some(_))), "a known key waited for the fetch: {known:?}");
    assert!(first.await.unwrap() && second.await.unwrap());
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2, "the first fetch, and one for the new key");
}

#[tokio::test]
async fn a_token_without_aud_is_for_us_when_its_client_id_is_one_of_our_audiences() {
    let issuer = issuer(&["rsa-1"]).await;
    let authorizer = authorizer(&issuer).await;
    let access = |client_id: &str, aud: Option<&str>| {
        let mut claims = json!({"iss": ISSUER, "sub": "alice", "client_id": client_id, "token_use": "access",
            "scope": "orders", "exp": now() + 600});
        if let Some(aud) = aud {
            claims["aud"] = aud.into();
        }
        bearer(&signed("rsa-1", &claims))
    };

    // Cognito's access token: no aud, its client_id ours.
    assert!(authorizer.verify(Some(&access(AUDIENCE, None))).await.is_some());
    // Another app's client, or an aud for someone else whatever the client_id: refused.
    assert!(authorizer.verify(Some(&access("another-app", None))).await.is_none());
    assert!(authorizer.verify(Some(&access(AUDIENCE, Some("someone-else")))).await.is_none());
    // An aud list naming us.
    let listed = json!({"iss": ISSUER, "aud": ["other", AUDIENCE], "sub": "alice", "exp": now() + 600});
    assert!(authorizer.verify(Some(&bearer(&signed("rsa-1", &listed)))).await.is_some());
}
