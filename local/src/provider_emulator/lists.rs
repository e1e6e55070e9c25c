//! The provider's list endpoints, `GET /v1/charges` and `GET /v1/refunds`, as the daily report's
//! reconciliation reads them: newest first, by creation time, paged.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
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
    let objects = emulator.books.lock().unwrap().refunds.values().cloned().collect();
    answer(200, list(objects, &query))
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
