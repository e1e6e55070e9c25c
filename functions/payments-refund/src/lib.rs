//! `POST /payments/{id}/refund`: holds the amount on the payment and the order (`PENDING`), asks
//! the provider to refund it, and settles the answer: 201 `SUCCEEDED` (or `FAILED`, with the
//! amount refundable again), 202 `PENDING` while the money has not moved yet.

use platform::domain::{PaymentId, Refund, RefundId, RefundStatus, Timestamp, parse_amount, parse_reason};
use platform::faults::{self, Point};
use platform::http::{self, Body, Request, Response};
use platform::payment_provider::PaymentProvider;
use platform::payments::PaymentDeps;
use platform::store::Begun;
use platform::{Error, Result};
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

    // A keyed request's refund id is its key's, so a retry finds the refund its first run wrote.
    let keyed = http::idempotency_key(req).map(|key| RefundId::for_key(&caller.customer_id, key));
    let stored = deps
        .payments
        .get_with_refund(&id, keyed.as_ref())
        .await?
        .filter(|p| caller.can_access(&p.payment.customer_id))
        .ok_or_else(Error::payment_not_found)?;
    let refund_id = keyed.unwrap_or_default(); // a new id
    if let Some(done) = stored.payment.refunds.iter().find(|r| r.refund_id == refund_id) {
        // The same request ran before and got as far as its hold.
        return finish(deps, &stored, done.clone()).await;
    }
    let payment = &stored.payment;
    let amount = requested.unwrap_or(payment.refundable());
    if amount == 0 || amount > payment.refundable() {
        return Err(Error::Conflict(format!("only {} can still be refunded", payment.refundable()).into()));
    }
    let refund = Refund::pending(refund_id, id, amount, reason, Timestamp::now());
    let refund = match deps.payments.begin_refund(payment, &refund).await? {
        Begun::Started => refund,
        Begun::Existing(existing) => existing,
    };
    finish(deps, &stored, refund).await
}

/// Asks the provider for a `PENDING` refund and replies with where it stands.
async fn finish<P: PaymentProvider>(
    deps: &PaymentDeps<P>,
    stored: &platform::store::StoredPayment,
    refund: Refund,
) -> Result<Response<Body>> {
    let refund = match refund.status {
        RefundStatus::Pending => {
            faults::point(Point::AfterRefundHold);
            deps.refund(stored, &refund).await?
        }
        RefundStatus::Succeeded | RefundStatus::Failed => refund,
    };
    let location = format!("/payments/{}", stored.payment.payment_id);
    Ok(match refund.status {
        RefundStatus::Pending => http::accepted(&location, &refund),
        RefundStatus::Succeeded | RefundStatus::Failed => http::created(&location, &refund),
    })
}
