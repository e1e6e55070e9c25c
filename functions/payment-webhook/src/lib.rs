//! `POST /webhooks/payment-provider`: the provider's events, signed with the endpoint's secret.
//! No JWT: the signature is the authentication, and a stale timestamp is refused as a replay.
//! Each event settles a `PENDING` payment or refund through the same conditional transitions as
//! the payment routes, so a repeated, late or out-of-order event changes nothing.

use platform::domain::{PaymentStatus, RefundStatus, Timestamp};
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::payment_provider::RefundOutcome;
use platform::payment_provider::webhook::{self, ProviderEvent};
use platform::payments::{NoProvider, PaymentDeps};
use platform::secret::Secret;
use platform::store::{PaymentSettlement, RefundSettlement};
use platform::{Error, Result};

pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// What the webhook uses, built once per cold start: the stores and the queue, and no provider
/// (it only records what the provider says).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub deps: PaymentDeps<NoProvider>,
    /// The key the provider signs this endpoint's events with (read again every few minutes).
    pub signing_secret: Secret,
}

pub async fn handle(webhook: &Webhook, req: Request) -> Response<Body> {
    platform::telemetry::traced(&req, async { http::respond(receive(webhook, &req).await) }).await
}

async fn receive(webhook: &Webhook, req: &Request) -> Result<Response<Body>> {
    let payload: &[u8] = req.body().as_ref();
    let signature = req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    webhook::verify(&webhook.signing_secret.value().await, signature, payload, Timestamp::now().millis() / 1000)?;
    let event: serde_json::Value =
        serde_json::from_slice(payload).map_err(|_| Error::invalid("body", "is not a JSON event"))?;
    apply(&webhook.deps, ProviderEvent::parse(&event)).await?;
    Ok(http::json(StatusCode::OK, &serde_json::json!({"received": true})))
}

/// Settles what the event reports, if its payment or refund is still `PENDING`.
async fn apply(deps: &PaymentDeps<NoProvider>, event: ProviderEvent) -> Result<()> {
    let (payment_id, refund_id) = match &event {
        ProviderEvent::PaymentCaptured { payment_id, .. } | ProviderEvent::PaymentFailed { payment_id, .. } => {
            (*payment_id, None)
        }
        ProviderEvent::Refund { payment_id, refund_id, .. } => (*payment_id, Some(*refund_id)),
        ProviderEvent::Ignored => return Ok(()),
    };
    // Not ours (another system on the same account): acknowledged, nothing to do.
    let Some(stored) = deps.payments.get_with_refund(&payment_id, refund_id.as_ref()).await? else { return Ok(()) };
    match event {
        ProviderEvent::PaymentCaptured { capture, .. } if stored.payment.status == PaymentStatus::Pending => {
            deps.settle(&stored.payment, &PaymentSettlement::Captured(capture)).await?;
        }
        ProviderEvent::PaymentFailed { reason, .. } if stored.payment.status == PaymentStatus::Pending => {
            deps.settle(&stored.payment, &PaymentSettlement::Failed(reason)).await?;
        }
        ProviderEvent::Refund { refund_id, outcome, .. } => {
            let Some(refund) = stored.payment.refunds.iter().find(|r| r.refund_id == refund_id) else { return Ok(()) };
            if refund.status != RefundStatus::Pending {
                return Ok(());
            }
            let settlement = match outcome {
                RefundOutcome::Succeeded { id } => RefundSettlement::Succeeded { provider_id: id },
                RefundOutcome::Failed { id, reason } => RefundSettlement::Failed { provider_id: id, reason },
                RefundOutcome::Pending { id } => {
                    return deps.payments.note_provider_refund(&stored.payment, refund, &id).await;
                }
            };
            deps.settle_refund(&stored.payment, refund, &settlement).await?;
        }
        _ => {}
    }
    Ok(())
}
