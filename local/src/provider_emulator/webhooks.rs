//! Webhooks as the provider sends them: signed (`Stripe-Signature: t=..,v1=..`), retried until
//! answered 2xx, and, as configured, more than once and after a random wait (so out of order).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Emulator, Webhook};

/// How long the provider keeps retrying an event's delivery, as Stripe does (3 days), by the
/// emulator's clock.
const RETRY_FOR_MILLIS: i64 = 3 * 24 * 3600 * 1000;
/// The longest wait between two deliveries of an event.
const MAX_BACKOFF_MILLIS: i64 = 3600 * 1000;

impl Emulator {
    /// Records `object` as an event of `kind` (listed by `GET /v1/events` for 30 days) and sends it
    /// to the webhook, as the provider does: signed, retried until answered 2xx, possibly more than
    /// once and after a random wait.
    pub(super) fn notify(&self, kind: &str, object: &Value) {
        let event = {
            let mut books = self.books.lock().unwrap();
            let event = json!({
                "id": books.id("evt"),
                "object": "event",
                "type": kind,
                "created": books.now(),
                "data": {"object": object},
            });
            books.events.push(event.clone());
            event
        };
        let Some(webhook) = self.settings.webhook.clone() else { return };
        for _ in 0..=self.settings.duplicate_deliveries {
            let (emulator, webhook, event) = (self.clone(), webhook.clone(), event.clone());
            tokio::spawn(async move { emulator.deliver(&webhook, &event).await });
        }
    }

    /// Delivers until answered 2xx, waiting twice as long after each failure (from 100 ms up to an
    /// hour of the emulator's clock, so moving the clock makes a retry due), for 3 days.
    async fn deliver(&self, webhook: &Webhook, event: &Value) {
        let jitter = self.settings.delivery_jitter.as_millis() as u64;
        if jitter > 0 {
            let wait = (uuid::Uuid::new_v4().as_u128() % u128::from(jitter)) as u64;
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let payload = event.to_string();
        let give_up_at = event["created"].as_i64().unwrap_or_default() * 1000 + RETRY_FOR_MILLIS;
        let mut backoff = 100;
        loop {
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
            let due = self.now_millis() + backoff;
            if due > give_up_at {
                tracing::warn!(event = %event["id"], "the emulator gave up delivering a webhook after 3 days");
                return;
            }
            while self.now_millis() < due {
                tokio::time::sleep(Duration::from_millis((due - self.now_millis()).clamp(1, 100) as u64)).await;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF_MILLIS);
        }
    }

    fn now_millis(&self) -> i64 {
        self.books.lock().unwrap().now_millis()
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`, the provider's webhook signature.
pub fn signature_header(secret: &str, timestamp: u64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={signature}")
}
