//! `POST /payments`: writes the payment `PENDING` with a hold on its order, asks the provider to
//! charge the card, and settles its answer: 201 `CAPTURED`, 402 declined, or 202 `PENDING` while
//! the answer is not known (the webhook or the reconciler settles it within minutes).

use platform::Result;
use platform::cashier::{Cashier, NewPayment, declined};
use platform::domain::{Currency, OrderId, Payment, PaymentStatus, parse_amount, parse_source};
use platform::error::Problems;
use platform::http::{self, Body, Request, Response};
use platform::payment_provider::PaymentProvider;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePayment {
    order_id: String,
    amount: i64,
    currency: String,
    source: String,
}

pub async fn handle<P: PaymentProvider>(cashier: &Cashier<P>, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, http::idempotent(&cashier.idempotency, &req, || create(cashier, &req))).await
}

async fn create<P: PaymentProvider>(cashier: &Cashier<P>, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let body: CreatePayment = http::json_body(req)?;
    let mut problems = Problems::default();
    let order_id = problems.check(OrderId::parse("orderId", &body.order_id));
    let amount = problems.check(parse_amount("amount", body.amount));
    let currency = problems.check(Currency::parse("currency", &body.currency));
    let source = problems.check(parse_source("source", &body.source));
    if let (Some(amount), Some(currency)) = (amount, currency) {
        problems.check(cashier.provider.limits().check("amount", amount, currency));
    }
    problems.into_result()?;
    let new = NewPayment {
        order_id: order_id.expect("valid"),
        amount: amount.expect("valid"),
        currency: currency.expect("valid"),
        source: source.expect("valid"),
    };
    Ok(reply(cashier.pay(&caller, new, http::idempotency_key(req)).await?))
}

/// 201 once the provider confirmed, 202 while its answer is not known, 402 for a failed payment.
fn reply(payment: Payment) -> Response<Body> {
    let location = format!("/payments/{}", payment.payment_id);
    match payment.status {
        PaymentStatus::Captured => http::created(&location, &payment),
        PaymentStatus::Pending => http::accepted(&location, &payment),
        PaymentStatus::Failed => {
            http::error_response(&declined(payment.failure_reason.as_deref().unwrap_or("unknown")))
        }
    }
}
