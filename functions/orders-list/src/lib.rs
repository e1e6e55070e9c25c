//! `GET /orders?customerId=C&limit=N&cursor=K`: a customer's orders, newest first.

use platform::cursor::CursorSigner;
use platform::domain::{CustomerId, Order};
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::keys;
use platform::secret::Secret;
use platform::store::{OrderStore, PageRequest};
use platform::{Error, Result};
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderList {
    orders: Vec<Order>,
    next_cursor: Option<String>,
}

/// `cursor_key` signs the cursors (a key read again every few minutes: a new one takes over
/// without a cold start, and the cursors signed with the old one are refused as not ours).
pub async fn handle(store: &OrderStore, cursor_key: &Secret, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(list(store, cursor_key, &req).await) }).await
}

async fn list(store: &OrderStore, cursor_key: &Secret, req: &Request) -> Result<Response<Body>> {
    let cursors = CursorSigner::new(&*cursor_key.value().await);
    let caller = http::caller(req)?;
    let named = http::query(req, "customerId").ok_or_else(|| Error::invalid("customerId", "is required"))?;
    let customer = caller.acting_for(Some(CustomerId::parse("customerId", named)?))?;
    let limit = match http::query(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| Error::invalid("limit", format!("must be an integer from 1 to {MAX_LIMIT}")))?,
    };
    let after = http::query(req, "cursor").map(|c| cursors.decode(c)).transpose()?;
    // A cursor signed for one customer's listing never pages through another's, and one with any
    // other shape never reaches DynamoDB.
    if after.as_ref().is_some_and(|key| key.get(keys::GSI1.pk) != Some(&keys::customer_orders(&customer))) {
        return Err(Error::invalid("cursor", "belongs to a different listing"));
    }
    if after.as_ref().is_some_and(|key| !keys::is_listing_position(key, &customer)) {
        return Err(Error::invalid("cursor", "is not a cursor this API issued"));
    }

    let page = store.list(PageRequest { customer, limit, after, query_items: None }).await?;
    let next_cursor = page.last.map(|key| cursors.encode(&key));
    Ok(http::json(StatusCode::OK, &OrderList { orders: page.orders, next_cursor }))
}
