//! `PUT /orders/{id}`: replaces items and currency of an order not yet paid, bumping its version.

use platform::domain::{LineItemInput, Lines, Timestamp};
use platform::events::EventPublisher;
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::store::OrderStore;
use platform::{Result, outbox};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateOrder {
    currency: String,
    items: Vec<LineItemInput>,
}

pub async fn handle(store: &OrderStore, events: &EventPublisher, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(update(store, events, &req).await) }).await
}

async fn update(store: &OrderStore, events: &EventPublisher, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = http::path_order_id(req)?;
    let if_match = http::if_match(req)?;
    let body: UpdateOrder = http::json_body(req)?;
    let lines = Lines::parse(&body.currency, &body.items)?;

    let written = store.update_lines(&caller, &id, &lines, if_match, Timestamp::now()).await?;
    outbox::deliver(store, events, written.owner(), &written.outbox).await;
    Ok(http::json(StatusCode::OK, &written.order))
}
