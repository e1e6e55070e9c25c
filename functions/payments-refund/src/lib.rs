//! `POST /payments/{id}/refund`: refunds part or all of what is left of a payment.

use platform::domain::{PaymentId, Refund, RefundId, Timestamp, parse_amount, parse_reason};
use platform::http::{self, Body, Request, Response};
use platform::metrics::{self, Metric};
use platform::payment_provider::PaymentProvider;
use platform::payments::PaymentDeps;
use platform::{Error, Result, outbox};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRefund {
    amount: Option<i64>,
    reason: Option<String>,
}

pub async fn handle<P: PaymentProvider>(deps: &PaymentDeps<P>, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, http::idempotent(&deps.idempotency, &req, || refund(deps, &req))).await
}

async fn refund<P: PaymentProvider>(deps: &PaymentDeps<P>, req: &Request) -> Result<Response<Body>> {
    let caller = http::caller(req)?;
    let id = PaymentId::parse("id", http::path_param(req, "id"))?;
    let body: CreateRefund =
        if req.body().is_empty() { CreateRefund { amount: None, reason: None } } else { http::json_body(req)? };
    let requested = body.amount.map(|a| parse_amount("amount", a)).transpose()?;
    let reason = parse_reason(body.reason)?;

    let stored = deps
        .payments
        .get(&id)
        .await?
        .filter(|p| caller.can_access(&p.payment.customer_id))
        .ok_or_else(Error::payment_not_found)?;
    let payment = &stored.payment;
    let amount = requested.unwrap_or(payment.refundable());
    if payment.refundable() == 0 || amount > payment.refundable() {
        return Err(Error::Conflict(format!("only {} can still be refunded", payment.refundable()).into()));
    }
    let refund = Refund { refund_id: RefundId::new(), payment_id: id, amount, reason, created_at: Timestamp::now() };

    let entry = deps.payments.refund(payment, &refund).await?;
    // The refund is recorded; a processor failure now is for reconciliation, not for the client.
    if let Err(err) = deps.provider.refund(&stored.provider_reference, amount).await {
        tracing::error!(refund_id = %refund.refund_id, error = ?err, "recorded refund not sent to the processor");
    }
    metrics::emit(
        &[Metric::count("RefundsIssued", 1), Metric::minor_units("RefundAmount", amount)],
        Some(payment.currency),
        &[("paymentId", id.to_string()), ("refundId", refund.refund_id.to_string())],
    );
    outbox::deliver(&deps.orders, &deps.events, (payment.order_id, &payment.customer_id), &[entry]).await;
    Ok(http::created(&format!("/payments/{id}"), &refund))
}
