//! The provider's list endpoints, `GET /v1/charges` and `GET /v1/refunds`, as the daily report's
//! reconciliation reads them: newest first, by creation time, paged.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Emulator, Params, answer};

pub(super) async fn charges(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    let objects = emulator.books.lock().unwrap().charges.iter().map(|(id, charge)| charge.object(id)).collect();
    answer(200, list(objects, &query))
}

pub(super) async fn refunds(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    let of = |name: &str, refund: &Value| query.get(name).is_none_or(|wanted| refund[name] == wanted.as_str());
    let refunds = emulator.books.lock().unwrap().refunds.values().cloned().collect::<Vec<_>>();
    let objects = refunds.into_iter().filter(|r| of("charge", r) && of("payment_intent", r)).collect();
    answer(200, list(objects, &query))
}

/// `GET /v1/events`: the events of the last 30 days, newest first, of one `type` if asked.
pub(super) async fn events(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    let books = emulator.books.lock().unwrap();
    let kept = books.now() - super::EVENTS_KEPT_SECONDS;
    let of_type = |event: &Value| query.get("type").is_none_or(|wanted| event["type"] == wanted.as_str());
    let events = books
        .events
        .iter()
        .filter(|e| e["created"].as_i64().is_some_and(|c| c >= kept) && of_type(e))
        .cloned()
        .collect();
    answer(200, list(events, &query))
}

/// `GET /v1/payment_intents/search?query=metadata['<name>']:'<value>'`: the intents whose
/// metadata holds that value (the one query form the platform uses; any other is a 400).
pub(super) async fn search_intents(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    let wanted = query.get("query").and_then(|q| {
        let (name, value) = q.strip_prefix("metadata['")?.split_once("']:'")?;
        Some((name.to_owned(), value.strip_suffix('\'')?.to_owned()))
    });
    let Some((name, value)) = wanted else {
        let message = "the emulator searches by one metadata value: metadata['name']:'value'";
        return super::error(StatusCode::BAD_REQUEST, "invalid_request_error", message, json!({"param": "query"}));
    };
    let books = emulator.books.lock().unwrap();
    let found: Vec<Value> =
        books.intents.values().filter(|intent| intent["metadata"][&name] == value.as_str()).cloned().collect();
    answer(200, json!({"object": "search_result", "data": found, "has_more": false}))
}

/// A list page as the provider pages: newest first (ids carry a serial number, so they sort in
/// creation order), filtered by `created[gte]` and `created[lt]`, `limit` (10 unless asked, at
/// most 100) after `starting_after`.
fn list(mut objects: Vec<Value>, query: &Params) -> Value {
    let bound = |name: &str| query.get(name).and_then(|v| v.parse::<i64>().ok());
    let (gte, lt) = (bound("created[gte]").unwrap_or(i64::MIN), bound("created[lt]").unwrap_or(i64::MAX));
    objects.retain(|o| o["created"].as_i64().is_some_and(|c| (gte..lt).contains(&c)));
    objects.sort_by(|a, b| b["id"].as_str().cmp(&a["id"].as_str()));
    if let Some(after) = query.get("starting_after") {
        objects.retain(|o| o["id"].as_str().is_some_and(|id| id < after.as_str()));
    }
    let limit = bound("limit").unwrap_or(10).clamp(1, 100) as usize;
    let has_more = objects.len() > limit;
    objects.truncate(limit);
    json!({"object": "list", "data": objects, "has_more": has_more})
}
