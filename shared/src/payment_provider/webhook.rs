//! The provider's webhooks: the signature (`Stripe-Signature: t=<unix seconds>,v1=<hex>`, an
//! HMAC-SHA256 of `"<t>.<raw body>"` with the endpoint's signing secret), and what an event says.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{Capture, RefundOutcome};
use crate::domain::{PaymentId, RefundId};
use crate::error::{Error, Result};

/// How far a signature's timestamp may be from now: older events are refused as replays.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Checks a webhook's signature header against its raw body, at `now` (unix seconds).
pub fn verify(secret: &str, header: Option<&str>, payload: &[u8], now: i64) -> Result<()> {
    let header = header.ok_or(Error::Unauthorized)?;
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex)) => signatures.push(hex),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Error::Unauthorized)?;
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(Error::Unauthorized);
    }
    let valid = signatures.iter().any(|hex| {
        let Some(signature) = decode_hex(hex) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // Constant time, so a forger learns nothing from how long a refusal takes.
        mac.verify_slice(&signature).is_ok()
    });
    if valid { Ok(()) } else { Err(Error::Unauthorized) }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// What a webhook event tells the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    PaymentCaptured {
        payment_id: PaymentId,
        capture: Capture,
    },
    PaymentFailed {
        payment_id: PaymentId,
        reason: String,
    },
    Refund {
        payment_id: PaymentId,
        refund_id: RefundId,
        outcome: RefundOutcome,
    },
    /// Not about a payment or refund of ours, or of a type we do not act on.
    Ignored,
}

impl ProviderEvent {
    /// Reads an event's JSON. Anything it cannot place is [`ProviderEvent::Ignored`].
    pub fn parse(event: &Value) -> Self {
        let object = &event["data"]["object"];
        let metadata = |name: &str| object["metadata"][name].as_str().unwrap_or_default().to_owned();
        let payment_id = PaymentId::parse("payment_id", &metadata("payment_id")).ok();
        let text = |value: &Value| value.as_str().map(str::to_owned);
        match (event["type"].as_str().unwrap_or_default(), payment_id) {
            ("payment_intent.succeeded", Some(payment_id)) => {
                match (text(&object["id"]), text(&object["latest_charge"])) {
                    (Some(intent), Some(charge)) => {
                        Self::PaymentCaptured { payment_id, capture: Capture { intent, charge } }
                    }
                    _ => Self::Ignored,
                }
            }
            ("payment_intent.payment_failed", Some(payment_id)) => {
                let reason = super::stripe::decline_code(&object["last_payment_error"]).to_owned();
                Self::PaymentFailed { payment_id, reason }
            }
            ("refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated", Some(payment_id)) => {
                let refund_id = RefundId::parse("refund_id", &metadata("refund_id")).ok();
                let outcome = super::stripe::refund_outcome(object);
                match (refund_id, outcome) {
                    (Some(refund_id), Some(outcome)) => Self::Refund { payment_id, refund_id, outcome },
                    _ => Self::Ignored,
                }
            }
            _ => Self::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{payload}").as_bytes());
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={hex}")
    }

    #[test]
    fn a_signature_holds_only_for_its_secret_body_and_time() {
        let (now, body) = (1_795_700_000, r#"{"type":"x"}"#);
        let good = sign("whsec", now, body);
        assert!(verify("whsec", Some(&good), body.as_bytes(), now).is_ok());
        assert!(verify("whsec", Some(&format!("v1=00,{good}")), body.as_bytes(), now + 299).is_ok());
        for (header, payload, at) in [
            (good.clone(), r#"{"type":"y"}"#, now),
            (sign("other", now, body), body, now),
            (good.clone(), body, now + 301),
            (sign("whsec", now - 301, body), body, now),
            ("t=1".to_owned(), body, now),
            ("garbage".to_owned(), body, now),
            (good.replace("t=", "x="), body, now),
        ] {
            assert!(
                matches!(verify("whsec", Some(&header), payload.as_bytes(), at), Err(Error::Unauthorized)),
                "{header}"
            );
        }
        assert!(verify("whsec", None, body.as_bytes(), now).is_err());
    }

    #[test]
    fn events_are_read_by_type_and_metadata() {
        let payment = PaymentId::new();
        let captured = serde_json::json!({"type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_1", "latest_charge": "ch_1", "metadata": {"payment_id": payment.to_string()}}}});
        assert_eq!(
            ProviderEvent::parse(&captured),
            ProviderEvent::PaymentCaptured {
                payment_id: payment,
                capture: Capture { intent: "pi_1".into(), charge: "ch_1".into() }
            }
        );
        let refund = RefundId::new();
        let failed = serde_json::json!({"type": "refund.failed", "data": {"object": {"id": "re_1", "status": "failed",
            "failure_reason": "expired_or_canceled_card",
            "metadata": {"payment_id": payment.to_string(), "refund_id": refund.to_string()}}}});
        assert_eq!(
            ProviderEvent::parse(&failed),
            ProviderEvent::Refund {
                payment_id: payment,
                refund_id: refund,
                outcome: RefundOutcome::Failed { id: Some("re_1".into()), reason: "expired_or_canceled_card".into() }
            }
        );
        let foreign = serde_json::json!({"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_2"}}});
        assert_eq!(ProviderEvent::parse(&foreign), ProviderEvent::Ignored);
        assert_eq!(ProviderEvent::parse(&serde_json::json!({"type": "customer.created"})), ProviderEvent::Ignored);
    }
}
