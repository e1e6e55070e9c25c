//! `POST /orders`: validates, writes the order with its `ORDER_CREATED` event, and queues the event.

use platform::domain::{CustomerId, LineItemInput, Lines, Order, OrderId, Timestamp};
use platform::events::EventPublisher;
use platform::http::{self, Body, Request, Response};
use platform::metrics::{self, Metric};
use platform::store::{IdempotencyStore, OrderStore};
use platform::{Result, outbox};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateOrder {
    customer_id: Option<String>,
    currency: String,
    items: Vec<LineItemInput>,
}

pub async fn handle(
    store: &OrderStore,
    events: &EventPublisher,
    idempotency: &IdempotencyStore,
    req: Request,
) -> Response<Body> {
    platform::telemetry::traced(&req, http::idempotent(idempotency, &req, || create(store, events, &req))).await
}

async fn create(store: &OrderStore, events: &EventPublisher, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let body: CreateOrder = http::json_body(req)?;
    let named = body.customer_id.map(|c| CustomerId::parse("customerId", &c)).transpose()?;
    let customer = caller.acting_for(named)?;
    let lines = Lines::parse(&body.currency, &body.items)?;

    // With an Idempotency-Key the id is the key's: a second execution finds the first order.
    let id = http::idempotency_key(req).map_or_else(OrderId::new, |key| OrderId::for_key(&caller.customer_id, key));
    platform::telemetry::about_order(&id);
    let written = store.create(&Order::new(id, customer, lines, Timestamp::now())).await?;
    let order = &written.order;
    metrics::emit(
        &[Metric::count("OrdersCreated", 1)],
        Some(order.currency),
        &[("orderId", order.order_id.to_string())],
    );
    outbox::deliver(store, events, written.owner(), &written.outbox).await;
    Ok(http::created(&format!("/orders/{}", written.order.order_id), &written.order))
}
