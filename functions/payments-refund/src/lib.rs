//! `POST /payments/{id}/refund`: holds the amount on the payment and the order (`PENDING`), asks
//! the provider to refund it, and settles the answer: 201 `SUCCEEDED` (or `FAILED`, with the
//! amount refundable again), 202 `PENDING` while the money has not moved yet.

use platform::Result;
use platform::cashier::{Cashier, NewRefund};
use platform::domain::{PaymentId, RefundStatus, parse_amount, parse_reason};
use platform::http::{self, Body, Request, Response};
use platform::payment_provider::PaymentProvider;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRefund {
    amount: Option<i64>,
    reason: Option<String>,
}

pub async fn handle<P: PaymentProvider>(cashier: &Cashier<P>, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, http::idempotent(&cashier.idempotency, &req, || refund(cashier, &req))).await
}

async fn refund<P: PaymentProvider>(cashier: &Cashier<P>, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = PaymentId::parse("id", http::path_param(req, "id"))?;
    let body: CreateRefund =
        if req.body().is_empty() { CreateRefund { amount: None, reason: None } } else { http::json_body(req)? };
    let new = NewRefund {
        amount: body.amount.map(|a| parse_amount("amount", a)).transpose()?,
        reason: parse_reason(body.reason)?,
    };
    let refund = cashier.refund(&caller, id, new, http::idempotency_key(req)).await?;
    let location = format!("/payments/{id}");
    Ok(match refund.status {
        RefundStatus::Pending => http::accepted(&location, &refund),
        RefundStatus::Succeeded | RefundStatus::Failed => http::created(&location, &refund),
    })
}
