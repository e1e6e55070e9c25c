//! `GET /payments/{id}`: a payment with its refunds, visible only to its customer (or an admin).

use platform::domain::PaymentId;
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::store::PaymentStore;
use platform::{Error, Result};

pub async fn handle(payments: &PaymentStore, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(get(payments, &req).await) }).await
}

async fn get(payments: &PaymentStore, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = PaymentId::parse("id", http::path_param(req, "id"))?;
    match payments.get(&id).await? {
        Some(stored) if caller.can_access(&stored.payment.customer_id) => {
            Ok(http::json(StatusCode::OK, &stored.payment))
        }
        _ => Err(Error::payment_not_found()),
    }
}
