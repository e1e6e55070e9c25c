//! `DELETE /orders/{id}`: cancels an order that is not paid; cancelling twice returns it again.

use platform::domain::Timestamp;
use platform::events::EventPublisher;
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::store::OrderStore;
use platform::{Result, outbox};

pub async fn handle(store: &OrderStore, events: &EventPublisher, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(cancel(store, events, &req).await) }).await
}

async fn cancel(store: &OrderStore, events: &EventPublisher, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = http::path_order_id(req)?;
    let written = store.cancel(&caller, &id, Timestamp::now()).await?;
    outbox::deliver(store, events, written.owner(), &written.outbox).await;
    Ok(http::json(StatusCode::OK, &written.order))
}
