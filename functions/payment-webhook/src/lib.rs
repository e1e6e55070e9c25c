//! `POST /webhooks/payment-provider`: the provider's events, signed with the endpoint's secret.
//! No JWT: the signature is the authentication, and a stale timestamp is refused as a replay.
//! Each event goes to the cashier, which settles a `PENDING` payment or refund through the same
//! conditional transitions as the payment routes, so a repeated, late or out-of-order event
//! changes nothing.

use platform::cashier::{Cashier, NoProvider};
use platform::domain::Timestamp;
use platform::http::{self, Body, Request, Response, StatusCode};
use platform::payment_provider::webhook::{self, ProviderEvent};
use platform::secret::Secret;
use platform::{Error, Result};

pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// What the webhook uses, built once per cold start: the cashier without a provider (it only
/// records what the provider says).
#[derive(Debug, Clone)]
pub struct Webhook {
    pub cashier: Cashier<NoProvider>,
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
    webhook.cashier.apply(ProviderEvent::parse(&event)).await?;
    Ok(http::json(StatusCode::OK, &serde_json::json!({"received": true})))
}
