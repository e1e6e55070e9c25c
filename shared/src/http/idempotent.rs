//! `Idempotency-Key` for every POST: the same key and body within 24 h replays the first final
//! response, status and body byte for byte; the same key with another body is a 422.
//!
//! The record only keeps replies; what binds the effect to the key is the handlers' ids, derived
//! from the caller and the key ([`idempotency_key`]), so a second execution (after a crash, or a
//! lock that expired) meets the first one's writes. Replies that are not final are not stored: a
//! 5xx, a `202` (the outcome is not known yet; a retry reports it once it is) and a
//! `409 CONCURRENT_CHANGE` (retry as is).

use std::future::Future;

use lambda_http::{Body, Request, Response, http::StatusCode, http::header};

use super::{caller, error_response, respond};
use crate::domain::Timestamp;
use crate::error::{Error, Result};
use crate::faults::{self, Point};
use crate::store::{Claim, IdempotencyStore, StoredResponse};

pub const HEADER: &str = "idempotency-key";

/// Runs `handler` at most once per caller and key.
pub async fn idempotent<F, Fut>(store: &IdempotencyStore, req: &Request, handler: F) -> Response<Body>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response<Body>>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        return respond(handler().await);
    };
    let key = match key.to_str().ok().filter(|k| valid_key(k)) {
        Some(key) => key,
        None => return error_response(&Error::invalid("Idempotency-Key", "must be 1-255 printable ASCII characters")),
    };
    // An unauthenticated request is answered by the handler's own 401; it claims nothing.
    let Ok(caller) = caller(req) else {
        return respond(handler().await);
    };
    let hash = request_hash(req);
    let customer = &caller.customer_id;
    match store.claim(customer, key, &hash, Timestamp::now()).await {
        Err(err) => error_response(&err),
        Ok(Claim::Replay(stored)) => replay(stored),
        Ok(Claim::InFlight) => {
            error_response(&Error::Conflict("a request with this Idempotency-Key is still in progress".into()))
        }
        Ok(Claim::Mismatch) => error_response(&Error::IdempotencyKeyReused),
        Ok(Claim::Claimed) => {
            faults::point(Point::AfterClaim);
            let response = respond(handler().await);
            let outcome = if !is_final(&response) {
                store.release(customer, key, &hash).await
            } else {
                store.complete(customer, key, &hash, &stored(&response)).await
            };
            if let Err(err) = outcome {
                tracing::error!(error = ?err, "idempotency record not finished; it expires with its lock");
            }
            response
        }
    }
}

/// The request's `Idempotency-Key`, when it has a valid one: what a handler derives the id of
/// what it creates from.
pub fn idempotency_key(req: &Request) -> Option<&str> {
    req.headers().get(HEADER)?.to_str().ok().filter(|k| valid_key(k))
}

/// Whether a reply may be replayed for the key: not a 5xx, not `202 Accepted`, not a conflict
/// the client should simply retry.
fn is_final(response: &Response<Body>) -> bool {
    let status = response.status();
    let retryable_conflict = status == StatusCode::CONFLICT && response.headers().contains_key(header::RETRY_AFTER);
    !(status.is_server_error() || status == StatusCode::ACCEPTED || retryable_conflict)
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// A digest of what makes two requests the same: method, path and body (JSON compared by value,
/// so key order and spacing do not matter).
fn request_hash(req: &Request) -> String {
    let body: &[u8] = req.body().as_ref();
    let canonical = serde_json::from_slice::<serde_json::Value>(body).map(|v| canonical_json(&v).into_bytes());
    crate::keys::digest(&[
        req.method().as_str().as_bytes(),
        req.uri().path().as_bytes(),
        canonical.as_deref().unwrap_or(body),
    ])
}

/// JSON text with object keys sorted, whatever order the map type keeps.
fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::from(k.as_str()), canonical_json(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(","))
        }
        other => other.to_string(),
    }
}

fn stored(response: &Response<Body>) -> StoredResponse {
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    StoredResponse { status: response.status().as_u16(), body, location }
}

fn replay(stored: StoredResponse) -> Response<Body> {
    let mut builder = Response::builder()
        .status(stored.status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotent-replayed", "true");
    if let Some(location) = stored.location {
        builder = builder.header(header::LOCATION, location);
    }
    builder.body(Body::Text(stored.body)).expect("a stored status and headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert!(valid_key("a"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(valid_key("order-42 #retry ~!"));
        for bad in ["", "tab\there", "é", &"k".repeat(256)] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn only_final_replies_are_kept_for_replay() {
        let reply = |status: u16| Response::builder().status(status).body(Body::Empty).unwrap();
        for kept in [200, 201, 400, 402, 404, 409, 422] {
            assert!(is_final(&reply(kept)), "{kept}");
        }
        for retried in [202, 500, 503] {
            assert!(!is_final(&reply(retried)), "{retried}");
        }
        assert!(!is_final(&super::error_response(&Error::ConcurrentChange)), "CONCURRENT_CHANGE is retried as is");
    }

    #[test]
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": [1, {"y": 2, "x": 1}], "a": "s"}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":"s","b":[1,{"x":1,"y":2}]}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":"s","b":[1,{"x":1,"y":2}]}"#);
    }
}
