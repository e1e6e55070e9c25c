//! `POST /payments`: writes the payment `PENDING` with a hold on its order, asks the provider to
//! charge the card, and settles its answer: 201 `CAPTURED`, 402 declined, or 202 `PENDING` while
//! the answer is not known (the webhook or the reconciler settles it within minutes).

use platform::domain::{Currency, OrderId, Payment, PaymentId, PaymentStatus, Timestamp, parse_amount};
use platform::error::Problems;
use platform::faults::{self, Point};
use platform::http::{self, Body, Request, Response};
use platform::payment_provider::PaymentProvider;
use platform::payments::{Charged, PaymentDeps};
use platform::store::{Begun, StoredPayment};
use platform::{Error, Result};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePayment {
    order_id: String,
    amount: i64,
    currency: String,
    source: String,
}

pub async fn handle<P: PaymentProvider>(deps: &PaymentDeps<P>, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, http::idempotent(&deps.idempotency, &req, || create(deps, &req))).await
}

async fn create<P: PaymentProvider>(deps: &PaymentDeps<P>, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let body: CreatePayment = http::json_body(req)?;
    let mut problems = Problems::default();
    let order_id = problems.check(OrderId::parse("orderId", &body.order_id));
    let amount = problems.check(parse_amount("amount", body.amount));
    let currency = problems.check(Currency::parse("currency", &body.currency));
    if body.source.is_empty() || body.source.len() > 255 {
        problems.push("source", "must be a card token of 1-255 characters");
    }
    problems.into_result()?;
    let (order_id, amount, currency) = (order_id.expect("valid"), amount.expect("valid"), currency.expect("valid"));

    // Refuse early what cannot succeed; the transaction below checks all of it again, atomically.
    let order = deps
        .orders
        .get(&order_id)
        .await?
        .filter(|o| caller.can_access(&o.customer_id))
        .ok_or_else(Error::order_not_found)?;

    let payment_id =
        http::idempotency_key(req).map_or_else(PaymentId::new, |key| PaymentId::for_key(&caller.customer_id, key));
    let payment =
        Payment::pending(payment_id, (&order.order_id, &order.customer_id), amount, currency, Timestamp::now());
    let stored = match deps.payments.begin(&caller, &order, &payment, &body.source).await? {
        Begun::Started => StoredPayment::new(payment, body.source),
        // The same request ran before: carry on from where it got to.
        Begun::Existing(stored) if stored.payment.status == PaymentStatus::Pending => stored,
        Begun::Existing(stored) => return Ok(reply(stored.payment)),
    };
    faults::point(Point::AfterPaymentWrite);
    match deps.charge(&stored).await? {
        Charged::Payment(payment) => Ok(reply(payment)),
        Charged::Refused(refusal) => Err(refusal),
    }
}

/// 201 once the provider confirmed, 202 while its answer is not known, 402 for a failed payment.
fn reply(payment: Payment) -> Response<Body> {
    let location = format!("/payments/{}", payment.payment_id);
    match payment.status {
        PaymentStatus::Captured => http::created(&location, &payment),
        PaymentStatus::Pending => http::accepted(&location, &payment),
        PaymentStatus::Failed => {
            let reason = payment.failure_reason.unwrap_or_else(|| "the payment failed".into());
            http::error_response(&Error::PaymentDeclined(reason.into()))
        }
    }
}
