//! `GET /orders/{id}`: one order, visible only to its customer (or an admin).

use platform::Error;
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::store::OrderStore;

pub async fn handle(store: &OrderStore, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(get(store, &req).await) }).await
}

async fn get(store: &OrderStore, req: &Request) -> platform::Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = http::path_order_id(req)?;
    match store.get(&id).await? {
        // Another customer's order looks exactly like a missing one.
        Some(order) if caller.can_access(&order.customer_id) => Ok(http::json(StatusCode::OK, &order)),
        _ => Err(Error::order_not_found()),
    }
}
