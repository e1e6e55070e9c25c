//! `POST /payments`: captures a card payment and records it with its order in one transaction.

use platform::domain::{Currency, OrderId, Payment, PaymentId, PaymentStatus, Timestamp, parse_amount};
use platform::error::Problems;
use platform::http::{self, Body, Request, Response};
use platform::metrics::{self, Metric};
use platform::payment_provider::PaymentProvider;
use platform::payments::PaymentDeps;
use platform::{Error, Result, outbox};
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

    // Refuse early what cannot succeed, before the card is charged; the transaction below
    // checks all of it again, atomically.
    let order = deps
        .orders
        .get(&order_id)
        .await?
        .filter(|o| caller.can_access(&o.customer_id))
        .ok_or_else(Error::order_not_found)?;
    if let Some(refusal) = order.payment_refusal(amount, currency) {
        return Err(refusal);
    }

    let reference = deps.provider.capture(&body.source, amount, currency).await?;
    let payment = Payment {
        payment_id: PaymentId::new(),
        order_id,
        customer_id: order.customer_id.clone(),
        amount,
        currency,
        status: PaymentStatus::Captured,
        refunded: 0,
        refunds: vec![],
        created_at: Timestamp::now(),
    };
    let entry = match deps.payments.capture(&caller, &order, &payment, &reference).await {
        Ok(entry) => entry,
        Err(err) => {
            if let Err(void) = deps.provider.void(&reference).await {
                tracing::error!(reference, error = ?void, "a capture that was not recorded could not be voided");
            }
            return Err(err);
        }
    };
    metrics::emit(
        &[Metric::count("PaymentsCaptured", 1), Metric::minor_units("PaymentAmount", amount)],
        Some(currency),
        &[("orderId", order_id.to_string()), ("paymentId", payment.payment_id.to_string())],
    );
    outbox::deliver(&deps.orders, &deps.events, (order.order_id, &order.customer_id), &[entry]).await;
    Ok(http::created(&format!("/payments/{}", payment.payment_id), &payment))
}
