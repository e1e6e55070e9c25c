//! The local payment provider: an emulator of the Stripe-style API subset the platform's adapter
//! uses, served over real HTTP on its own port, with the provider's behaviour and faults:
//!
//! - `POST /v1/payment_intents` (confirmed, automatic capture), `GET /v1/payment_intents/{id}`,
//!   `POST /v1/refunds`, `GET /v1/refunds/{id}`, form-encoded, `Authorization: Bearer <key>`;
//! - `Idempotency-Key`: the same key and parameters answer the stored response again; other
//!   parameters are a 400 `idempotency_error`; requests refused by validation store nothing;
//! - the contract's card tokens: `tok_visa`, `tok_mastercard` capture; `tok_chargeDeclined`,
//!   `tok_insufficientFunds` decline (402); `tok_timeout` captures but answers only after
//!   [`EmulatorSettings::slow_answer`]; `tok_refundFails` captures, and its refunds go `pending`,
//!   then `failed`; `tok_threeDSecureRequired` leaves the intent needing customer authentication
//!   (`requires_action`, which `POST /v1/payment_intents/{id}/cancel` cancels); `tok_providerError`
//!   captures but answers 500, and replays that 500 for its key; anything else is a 400;
//! - webhooks signed as the provider signs them (`Stripe-Signature: t=..,v1=..`), retried with
//!   back-off until answered 2xx for up to 3 days of its clock, and, as configured, sent more than
//!   once and out of order; every event listed by `GET /v1/events` (`type`, `created`, paged) for
//!   30 days of its clock;
//!
//! - `GET /v1/charges` and `GET /v1/refunds`, newest first, with `created[gte]`, `created[lt]`,
//!   `limit` and `starting_after`, as the daily report's reconciliation reads them, refunds also by
//!   `charge` or `payment_intent`; `GET /v1/payment_intents/search` with a query of one metadata
//!   value (`metadata['payment_id']:'...'`), as the platform looks a payment up by its id;
//! - amounts from 50 to 99,999,999 minor units ([`AMOUNTS`]); two requests at once with one key:
//!   the second is a 409;
//!
//! `GET /_emulator/books` is the emulator's own: what it captured and refunded per payment id, so
//! tests can check the platform's books against the provider's. `POST /_emulator/outage`
//! `{"seconds": N}` makes every API request fail (503, nothing runs) for N seconds; `POST
//! /_emulator/clock` `{"advanceSeconds": N}` moves its clock forward: a result is kept for its
//! idempotency key 24 hours of that clock, then forgotten, as Stripe does.

mod intents;
mod lists;
mod refunds;
mod webhooks;

pub use webhooks::signature_header;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorSettings {
    /// The secret key clients must present.
    pub api_key: String,
    /// Where webhooks go, and the secret they are signed with; `None` sends none.
    pub webhook: Option<Webhook>,
    /// How long `tok_timeout` takes to answer (longer than the adapter waits).
    pub slow_answer: Duration,
    /// How long a `tok_refundFails` refund stays `pending` before it fails.
    pub refund_failure_delay: Duration,
    /// Extra deliveries of every webhook event (the provider delivers at least once).
    pub duplicate_deliveries: u32,
    /// The most a delivery waits before it goes, at random, so events can arrive out of order.
    pub delivery_jitter: Duration,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

impl EmulatorSettings {
    pub fn new(api_key: &str) -> Self {
        Self {
            api_key: api_key.to_owned(),
            webhook: None,
            slow_answer: Duration::from_secs(10),
            refund_failure_delay: Duration::from_millis(500),
            duplicate_deliveries: 0,
            delivery_jitter: Duration::ZERO,
        }
    }
}

type Params = BTreeMap<String, String>;

#[derive(Default)]
struct Books {
    intents: HashMap<String, Value>,
    /// Charge id -> (intent id, amount, what its refunds hold, card token).
    charges: HashMap<String, Charge>,
    refunds: HashMap<String, Value>,
    /// Every event, in order (listed for [`EVENTS_KEPT_SECONDS`]).
    events: Vec<Value>,
    /// (path, key) -> the first answer.
    idempotency: HashMap<(String, String), Stored>,
    /// The (path, key) of requests running now: another with the same key is a 409.
    in_flight: std::collections::HashSet<(String, String)>,
    captures: u64,
    serial: u64,
    /// How far the emulator's clock is ahead of the real one (`POST /_emulator/clock`).
    clock_ahead_seconds: i64,
    /// Until when (epoch seconds, the emulator's clock) every API request fails without reaching
    /// the provider (`POST /_emulator/outage`); moving the clock past it ends the outage.
    outage_until: Option<i64>,
}

/// How long a result is kept for its idempotency key, as Stripe keeps it: then it is forgotten,
/// and the same key makes a new request.
const KEY_KEPT_SECONDS: i64 = 24 * 3600;

/// How long events stay listed (`GET /v1/events`), as Stripe keeps them: 30 days.
const EVENTS_KEPT_SECONDS: i64 = 30 * 24 * 3600;

/// The amounts the emulator takes, in minor units of any currency (`API.md`): outside them a
/// payment intent is refused (`amount_too_small`, `amount_too_large`), as Stripe refuses.
pub const AMOUNTS: std::ops::RangeInclusive<i64> = 50..=99_999_999;

/// The limits the platform checks amounts against when this emulator is its provider.
pub fn limits() -> platform::payment_provider::AmountLimits {
    platform::payment_provider::AmountLimits::Uniform(AMOUNTS)
}

/// An answer kept for an idempotency key, with the parameters it answered.
struct Stored {
    params: Params,
    status: u16,
    body: Value,
    /// When it was first answered, by the emulator's clock.
    at: i64,
}

struct Charge {
    intent: String,
    /// The intent's metadata, copied when it was confirmed, as Stripe copies it.
    metadata: Value,
    payment_id: String,
    amount: i64,
    currency: String,
    /// Epoch seconds, as the provider stamps its objects.
    created: i64,
    held: i64,
    token: String,
}

impl Charge {
    fn object(&self, id: &str) -> Value {
        json!({
            "id": id, "object": "charge", "amount": self.amount, "currency": self.currency, "captured": true,
            "status": "succeeded", "created": self.created, "payment_intent": self.intent, "amount_refunded": self.held,
            "metadata": self.metadata,
        })
    }
}

impl Books {
    /// Epoch seconds by the emulator's clock, as the provider stamps its objects.
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// Epoch milliseconds by the emulator's clock.
    fn now_millis(&self) -> i64 {
        let real =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        real + self.clock_ahead_seconds * 1000
    }

    fn id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}_{:08}{}", self.serial, &uuid::Uuid::new_v4().simple().to_string()[..8])
    }
}

#[derive(Clone)]
struct Emulator {
    settings: Arc<EmulatorSettings>,
    books: Arc<Mutex<Books>>,
    http: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<hyper::body::Bytes>,
    >,
}

/// Serves the emulator on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, settings: EmulatorSettings) -> std::io::Result<()> {
    let emulator = Emulator {
        settings: Arc::new(settings),
        books: Arc::default(),
        http: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
    };
    let app = Router::new()
        .route("/v1/payment_intents", post(intents::create))
        .route("/v1/payment_intents/search", get(lists::search_intents))
        .route("/v1/payment_intents/{id}", get(intents::get))
        .route("/v1/payment_intents/{id}/cancel", post(intents::cancel))
        .route("/v1/refunds/{id}", get(refunds::get))
        .route("/v1/charges", get(lists::charges))
        .route("/v1/events", get(lists::events))
        .route("/v1/refunds", get(lists::refunds).post(refunds::create))
        .route_layer(axum::middleware::from_fn_with_state(emulator.clone(), unreachable_in_an_outage))
        .route("/_emulator/books", get(books))
        .route("/_emulator/outage", post(outage))
        .route("/_emulator/clock", post(clock))
        .with_state(emulator);
    axum::serve(listener, app).await
}

fn error(status: StatusCode, kind: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({"type": kind, "message": message});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    (status, Json(json!({"error": body}))).into_response()
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Json(body)).into_response()
}

impl Emulator {
    /// The 401 for a request without our secret key, if it has not got it.
    fn unauthorized(&self, headers: &HeaderMap) -> Option<Response> {
        let expected = format!("Bearer {}", self.settings.api_key);
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(given) if given == expected => None,
            _ => Some(error(StatusCode::UNAUTHORIZED, "invalid_request_error", "Invalid API Key provided", json!({}))),
        }
    }

    /// Admits a POST to run, or answers it at once: a 401 without our key, the stored answer of an
    /// idempotent request (a 400 when the key came with other parameters), or a 409 while a request
    /// with the same key is running. The key counts as running until what is returned is dropped.
    fn admit(&self, path: &str, headers: &HeaderMap, params: &Params) -> Result<Running, Box<Response>> {
        if let Some(answered) = self.unauthorized(headers).or_else(|| self.replay(path, headers, params)) {
            return Err(Box::new(answered));
        }
        let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
            return Ok(Running(None));
        };
        let entry = (path.to_owned(), key.to_owned());
        if !self.books.lock().unwrap().in_flight.insert(entry.clone()) {
            let message =
                "There is currently another in-progress request using this Idempotent Key. Please try again later.";
            return Err(Box::new(error(StatusCode::CONFLICT, "idempotency_error", message, json!({}))));
        }
        Ok(Running(Some((self.clone(), entry))))
    }

    /// The stored answer of an idempotent request, or a 400 when the key came with other parameters.
    fn replay(&self, path: &str, headers: &HeaderMap, params: &Params) -> Option<Response> {
        let key = headers.get("idempotency-key")?.to_str().ok()?;
        let mut books = self.books.lock().unwrap();
        let entry = (path.to_owned(), key.to_owned());
        if books.idempotency.get(&entry).is_some_and(|stored| books.now() - stored.at >= KEY_KEPT_SECONDS) {
            books.idempotency.remove(&entry); // forgotten: the key makes a new request
        }
        let stored = books.idempotency.get(&entry)?;
        if &stored.params != params {
            let message =
                "Keys for idempotent requests can only be used with the same parameters they were first used with.";
            return Some(error(StatusCode::BAD_REQUEST, "idempotency_error", message, json!({})));
        }
        Some(answer(stored.status, stored.body.clone()))
    }

    fn remember(&self, path: &str, headers: &HeaderMap, params: &Params, status: u16, body: &Value) {
        if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            let mut books = self.books.lock().unwrap();
            let stored = Stored { params: params.clone(), status, body: body.clone(), at: books.now() };
            books.idempotency.insert((path.to_owned(), key.to_owned()), stored);
        }
    }
}

/// A keyed request running: its key is free again when this is dropped.
struct Running(Option<(Emulator, (String, String))>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some((emulator, entry)) = self.0.take() {
            emulator.books.lock().unwrap().in_flight.remove(&entry);
        }
    }
}

/// The `metadata[name]` parameters of a request, by name.
fn metadata(params: &Params) -> BTreeMap<&str, &String> {
    params.iter().filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?, v))).collect()
}

/// During an outage, an API request fails as if it never reached the provider: nothing runs, the
/// caller gets a 503.
async fn unreachable_in_an_outage(
    State(emulator): State<Emulator>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let outage = {
        let books = emulator.books.lock().unwrap();
        books.outage_until.is_some_and(|until| books.now() < until)
    };
    if outage {
        return error(StatusCode::SERVICE_UNAVAILABLE, "api_error", "the provider is unreachable", json!({}));
    }
    next.run(request).await
}

/// `POST /_emulator/outage {"seconds": N}`: every API request fails for N seconds of the emulator's
/// clock (0 ends it; so does moving the clock past its end).
async fn outage(State(emulator): State<Emulator>, Json(body): Json<Value>) -> Response {
    let Some(seconds) = body["seconds"].as_u64() else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "seconds: a whole number", json!({}));
    };
    let mut books = emulator.books.lock().unwrap();
    let until = books.now() + seconds as i64;
    books.outage_until = (seconds > 0).then_some(until);
    answer(200, json!({"outageSeconds": seconds}))
}

/// `POST /_emulator/clock {"advanceSeconds": N}`: moves the emulator's clock forward, so stored
/// keys expire as they would after that long.
async fn clock(State(emulator): State<Emulator>, Json(body): Json<Value>) -> Response {
    let Some(seconds) = body["advanceSeconds"].as_i64().filter(|s| *s >= 0) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "advanceSeconds: a whole number", json!({}));
    };
    let mut books = emulator.books.lock().unwrap();
    books.clock_ahead_seconds += seconds;
    answer(200, json!({"now": books.now()}))
}

/// `{"captures": n, "payments": {"<payment id>": {"captured": amount, "refunded": succeeded}}}`.
async fn books(State(emulator): State<Emulator>) -> Json<Value> {
    let books = emulator.books.lock().unwrap();
    let mut payments = serde_json::Map::new();
    for (charge_id, charge) in &books.charges {
        let refunded: i64 = books
            .refunds
            .values()
            .filter(|r| r["charge"] == charge_id.as_str() && r["status"] == "succeeded")
            .filter_map(|r| r["amount"].as_i64())
            .sum();
        payments.insert(charge.payment_id.clone(), json!({"captured": charge.amount, "refunded": refunded}));
    }
    Json(json!({"captures": books.captures, "payments": payments}))
}
