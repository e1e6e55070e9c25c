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
//!   then `failed`; anything else is a 400;
//! - webhooks signed as the provider signs them (`Stripe-Signature: t=..,v1=..`), retried until
//!   answered 2xx, and, as configured, sent more than once and out of order.
//!
//! - `GET /v1/charges` and `GET /v1/refunds`, newest first, with `created[gte]`, `created[lt]`,
//!   `limit` and `starting_after`, as the daily report's reconciliation reads them;
//!
//! `GET /_emulator/books` is the emulator's own: what it captured and refunded per payment id, so
//! tests can check the platform's books against the provider's.

mod lists;
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
    /// (path, key) -> the first answer.
    idempotency: HashMap<(String, String), Stored>,
    captures: u64,
    serial: u64,
}

/// An answer kept for an idempotency key, with the parameters it answered.
struct Stored {
    params: Params,
    status: u16,
    body: Value,
}

struct Charge {
    intent: String,
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
        })
    }
}

fn epoch_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Books {
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
        .route("/v1/payment_intents", post(create_intent))
        .route("/v1/payment_intents/{id}", get(get_intent))
        .route("/v1/refunds/{id}", get(get_refund))
        .route("/v1/charges", get(lists::charges))
        .route("/v1/refunds", get(lists::refunds).post(create_refund))
        .route("/_emulator/books", get(books))
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

    /// What a POST is answered before it runs: a 401 without our key, or the stored answer of an
    /// idempotent request (a 400 when the key came with other parameters).
    fn admit(&self, path: &str, headers: &HeaderMap, params: &Params) -> Option<Response> {
        self.unauthorized(headers).or_else(|| self.replay(path, headers, params))
    }

    /// The stored answer of an idempotent request, or a 400 when the key came with other parameters.
    fn replay(&self, path: &str, headers: &HeaderMap, params: &Params) -> Option<Response> {
        let key = headers.get("idempotency-key")?.to_str().ok()?;
        let books = self.books.lock().unwrap();
        let stored = books.idempotency.get(&(path.to_owned(), key.to_owned()))?;
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
            let stored = Stored { params: params.clone(), status, body: body.clone() };
            books.idempotency.insert((path.to_owned(), key.to_owned()), stored);
        }
    }
}

/// The `metadata[name]` parameters of a request, by name.
fn metadata(params: &Params) -> BTreeMap<&str, &String> {
    params.iter().filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?, v))).collect()
}

const CAPTURING_TOKENS: [&str; 4] = ["tok_visa", "tok_mastercard", "tok_timeout", "tok_refundFails"];

async fn create_intent(State(emulator): State<Emulator>, headers: HeaderMap, Form(params): Form<Params>) -> Response {
    const PATH: &str = "/v1/payment_intents";
    if let Some(answered) = emulator.admit(PATH, &headers, &params) {
        return answered;
    }
    let amount = params.get("amount").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a > 0);
    let (Some(amount), Some(currency)) = (amount, params.get("currency")) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "amount and currency are required", json!({}));
    };
    let token = params.get("payment_method_data[card][token]").cloned().unwrap_or_default();
    let metadata = metadata(&params);
    let payment_id = metadata.get("payment_id").map(|v| v.to_string()).unwrap_or_default();
    let (status, body) = {
        let mut books = emulator.books.lock().unwrap();
        let intent_id = books.id("pi");
        let mut intent = json!({
            "id": intent_id, "object": "payment_intent", "amount": amount, "currency": currency,
            "capture_method": "automatic", "metadata": metadata, "latest_charge": null,
        });
        match token.as_str() {
            t if CAPTURING_TOKENS.contains(&t) => {
                let charge = books.id("ch");
                intent["status"] = "succeeded".into();
                intent["latest_charge"] = charge.clone().into();
                let charge_record = Charge {
                    intent: intent_id.clone(),
                    payment_id,
                    amount,
                    currency: currency.clone(),
                    created: epoch_seconds(),
                    held: 0,
                    token: token.clone(),
                };
                books.charges.insert(charge, charge_record);
                books.captures += 1;
                books.intents.insert(intent_id, intent.clone());
                (200, intent)
            }
            "tok_chargeDeclined" | "tok_insufficientFunds" => {
                let (code, message) = if token == "tok_chargeDeclined" {
                    ("generic_decline", "Your card was declined.")
                } else {
                    ("insufficient_funds", "Your card has insufficient funds.")
                };
                intent["status"] = "requires_payment_method".into();
                books.intents.insert(intent_id, intent.clone());
                let error = json!({"type": "card_error", "code": "card_declined", "decline_code": code,
                    "message": message, "payment_intent": intent});
                (402, json!({"error": error}))
            }
            _ => {
                let message = format!("No such token: '{}'", token.chars().take(64).collect::<String>());
                let extra = json!({"code": "resource_missing", "param": "payment_method_data[card][token]"});
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, extra);
            }
        }
    };
    emulator.remember(PATH, &headers, &params, status, &body);
    match status {
        200 => emulator.notify("payment_intent.succeeded", &body),
        _ => emulator.notify("payment_intent.payment_failed", &body["error"]["payment_intent"]),
    }
    if token == "tok_timeout" {
        // The capture happened; its answer arrives too late for the caller.
        tokio::time::sleep(emulator.settings.slow_answer).await;
    }
    answer(status, body)
}

async fn get_intent(State(emulator): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    match emulator.books.lock().unwrap().intents.get(&id) {
        Some(intent) => answer(200, intent.clone()),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "No such payment_intent", json!({})),
    }
}

async fn create_refund(State(emulator): State<Emulator>, headers: HeaderMap, Form(params): Form<Params>) -> Response {
    const PATH: &str = "/v1/refunds";
    if let Some(answered) = emulator.admit(PATH, &headers, &params) {
        return answered;
    }
    let charge_id = params.get("charge").cloned().unwrap_or_default();
    let (body, fails) = {
        let mut books = emulator.books.lock().unwrap();
        let Some(charge) = books.charges.get(&charge_id) else {
            let extra = json!({"code": "resource_missing", "param": "charge"});
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", "No such charge", extra);
        };
        let left = charge.amount - charge.held;
        let amount = match params.get("amount").map(|a| a.parse::<i64>()) {
            None => left,
            Some(Ok(amount)) if amount > 0 => amount,
            Some(_) => {
                let extra = json!({"param": "amount"});
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", "Invalid positive integer", extra);
            }
        };
        if amount > left {
            let message = format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})");
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, json!({"param": "amount"}));
        }
        let fails = charge.token == "tok_refundFails";
        let (intent, currency) = (charge.intent.clone(), charge.currency.clone());
        let metadata = metadata(&params);
        let id = books.id("re");
        let refund = json!({
            "id": id, "object": "refund", "amount": amount, "currency": currency, "charge": charge_id,
            "payment_intent": intent, "status": if fails { "pending" } else { "succeeded" }, "metadata": metadata,
            "created": epoch_seconds(),
        });
        books.charges.get_mut(&charge_id).expect("found above").held += amount;
        books.refunds.insert(id, refund.clone());
        (refund, fails)
    };
    emulator.remember(PATH, &headers, &params, 200, &body);
    emulator.notify("refund.created", &body);
    if fails {
        let (emulator, refund) = (emulator.clone(), body.clone());
        tokio::spawn(async move {
            tokio::time::sleep(emulator.settings.refund_failure_delay).await;
            let failed = {
                let mut books = emulator.books.lock().unwrap();
                let Some(stored) = books.refunds.get_mut(refund["id"].as_str().unwrap_or_default()) else { return };
                stored["status"] = "failed".into();
                stored["failure_reason"] = "expired_or_canceled_card".into();
                let failed = stored.clone();
                if let Some(charge) = books.charges.get_mut(refund["charge"].as_str().unwrap_or_default()) {
                    charge.held -= refund["amount"].as_i64().unwrap_or_default();
                }
                failed
            };
            emulator.notify("refund.updated", &failed);
            emulator.notify("refund.failed", &failed);
        });
    }
    answer(200, body)
}

async fn get_refund(State(emulator): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    match emulator.books.lock().unwrap().refunds.get(&id) {
        Some(refund) => answer(200, refund.clone()),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "No such refund", json!({})),
    }
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
