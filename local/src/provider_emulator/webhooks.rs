//! Webhooks as the provider sends them: signed (`Stripe-Signature: t=..,v1=..`), retried until
//! answered 2xx, and, as configured, more than once and after a random wait (so out of order).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Emulator, Webhook};

impl Emulator {
    /// Sends `object` as an event of `kind` to the webhook, as the provider does: signed, retried
    /// until answered 2xx, possibly more than once and after a random wait.
    pub(super) fn notify(&self, kind: &str, object: &Value) {
        let Some(webhook) = self.settings.webhook.clone() else { return };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let event = json!({
            "id": self.books.lock().unwrap().id("evt"),
            "object": "event",
            "type": kind,
            "created": now,
            "data": {"object": object},
        });
        for _ in 0..=self.settings.duplicate_deliveries {
            let (emulator, webhook, event) = (self.clone(), webhook.clone(), event.clone());
            tokio::spawn(async move { emulator.deliver(&webhook, &event).await });
        }
    }

    async fn deliver(&self, webhook: &Webhook, event: &Value) {
        let jitter = self.settings.delivery_jitter.as_millis() as u64;
        if jitter > 0 {
            let wait = (uuid::Uuid::new_v4().as_u128() % u128::from(jitter)) as u64;
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let payload = event.to_string();
        for attempt in 0..8u32 {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
            let request = hyper::Request::post(&webhook.url)
                .header("content-type", "application/json")
                .header("stripe-signature", signature_header(&webhook.secret, now, &payload))
                .body(http_body_util::Full::new(hyper::body::Bytes::from(payload.clone())))
                .expect("a valid request");
            if let Ok(response) = self.http.request(request).await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
        }
        tracing::warn!(event = %event["id"], "the emulator gave up delivering a webhook");
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`, the provider's webhook signature.
pub fn signature_header(secret: &str, timestamp: u64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={signature}")
}
