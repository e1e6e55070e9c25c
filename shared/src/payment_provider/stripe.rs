//! The adapter to a Stripe-style API: form-encoded requests, `Authorization: Bearer <secret key>`,
//! `Idempotency-Key` on every POST, JSON answers, a timeout on every call.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;

use super::{
    AmountLimits, Capture, ChargeOutcome, ChargeRequest, Held, PROVIDER_REFUSED, PaymentProvider, ProviderBooks,
    RefundOutcome, RefundRequest, Unanswered,
};
use crate::domain::{PaymentId, Timestamp};
use crate::metrics::{self, Metric};
use crate::secret::Secret;

/// Where the provider is and how we authenticate: from the deployment's settings.
#[derive(Clone)]
pub struct ProviderSettings {
    /// `https://api.stripe.com` in production; the emulator's address locally.
    pub base_url: String,
    /// The secret API key (from Secrets Manager in AWS, read again every few minutes).
    pub api_key: Secret,
    /// How long one call may take before its answer counts as not arrived.
    pub timeout: Duration,
    /// The amounts it takes per currency.
    pub limits: AmountLimits,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings").field("base_url", &self.base_url).field("timeout", &self.timeout).finish()
    }
}

/// The Stripe-style provider over HTTPS (or plain HTTP to a local emulator).
#[derive(Debug, Clone)]
pub struct StripeProvider {
    http: crate::https::Client,
    settings: Arc<ProviderSettings>,
}

impl StripeProvider {
    pub fn new(settings: ProviderSettings) -> Self {
        Self { http: crate::https::client(), settings: Arc::new(settings) }
    }

    /// One call: the HTTP status and the JSON answer, or [`Unanswered`] when none arrived in time.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<String>,
    ) -> Result<(StatusCode, Value), Unanswered> {
        let unanswered = |source: Box<dyn std::error::Error + Send + Sync>| Unanswered { operation, source };
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.settings.base_url.trim_end_matches('/')))
            .header("authorization", format!("Bearer {}", self.settings.api_key.value().await))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| unanswered(e.into()))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| unanswered(e.into()))?;
            let status = response.status();
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                // The key is wrong, revoked or not allowed this call: no request will succeed until
                // a person puts the right one in its secret (`ProviderKeyRejectedAlarm`).
                tracing::error!(%status, operation, "the payment provider refused our API key");
                metrics::emit(&[Metric::count("ProviderKeyRejected", 1)], None, &[]);
            }
            let bytes = response.into_body().collect().await.map_err(|e| unanswered(e.into()))?.to_bytes();
            let json = serde_json::from_slice(&bytes).map_err(|e| unanswered(e.into()))?;
            Ok((status, json))
        };
        match tokio::time::timeout(self.settings.timeout, exchange).await {
            Ok(answer) => answer,
            Err(elapsed) => Err(unanswered(elapsed.into())),
        }
    }
}

impl StripeProvider {
    /// Cancels a confirmed intent that was not paid, keyed by the payment, so nothing can be taken
    /// on it later (a cancelled intent stays cancelled: asking again changes nothing).
    async fn cancel(&self, intent: &Value, payment_id: &PaymentId) -> Result<(), Unanswered> {
        const OPERATION: &str = "cancelling a payment intent";
        let id = text(&intent["id"]).unwrap_or_default();
        let path = format!(
            "/v1/payment_intents/{}/cancel",
            form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        );
        let key = Some(format!("{payment_id}-cancel"));
        let (status, json) = self.call(OPERATION, Method::POST, &path, &[], key).await?;
        match status.as_u16() {
            200 => Ok(()),
            // Already cancelled, or never confirmed: either way nothing will be taken.
            400 if json["error"]["code"] == "payment_intent_unexpected_state" => Ok(()),
            _ => Err(error_of(OPERATION, status, &json)),
        }
    }
}

impl StripeProvider {
    /// What a payment intent the provider holds means for its payment: captured, or declined (an
    /// intent confirmed but not paid, whose card needs the customer to authenticate, which this API
    /// does not support, or was refused, is cancelled first, so nothing can be taken on it later).
    /// Any other state (`processing`, say) is no answer yet.
    async fn intent_outcome(
        &self,
        operation: &'static str,
        intent: &Value,
        payment_id: &PaymentId,
    ) -> Result<ChargeOutcome, Unanswered> {
        let not_yet = |why: &str| Unanswered { operation, source: format!("the payment intent {why}").into() };
        match intent["status"].as_str() {
            Some("succeeded") => {
                let capture = text(&intent["id"]).zip(text(&intent["latest_charge"]));
                let (intent, charge) = capture.ok_or_else(|| not_yet("succeeded without its charge"))?;
                Ok(ChargeOutcome::Captured(Capture { intent, charge }))
            }
            Some(state @ ("requires_action" | "requires_payment_method" | "requires_confirmation" | "canceled")) => {
                if state != "canceled" {
                    self.cancel(intent, payment_id).await?;
                }
                let said = &intent["last_payment_error"];
                Ok(ChargeOutcome::Declined(match state {
                    "requires_action" => "authentication_required",
                    _ if said.is_object() => decline_code(said),
                    // Cancelled with no payment error: it needed authentication (a decline says so).
                    "canceled" => "authentication_required",
                    _ => "card_declined",
                }))
            }
            other => Err(not_yet(&format!("is {}", other.unwrap_or("in no state")))),
        }
    }
}

/// Objects listed per page (the provider's maximum).
const LIST_PAGE: &str = "100";

impl StripeProvider {
    /// Every object a list endpoint (`/v1/charges`, `/v1/refunds`) has created in `[from, to)`,
    /// page by page. The creation window is asked for and checked again on each object, so a
    /// provider that ignores the filter still gives the right answer.
    async fn each_created(
        &self,
        operation: &'static str,
        path: &str,
        (from, to): (Timestamp, Timestamp),
        mut each: impl FnMut(&Value),
    ) -> Result<(), Unanswered> {
        let window = from.millis().div_euclid(1000)..to.millis().div_euclid(1000);
        let mut after: Option<String> = None;
        loop {
            let query = {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query
                    .append_pair("created[gte]", &window.start.to_string())
                    .append_pair("created[lt]", &window.end.to_string())
                    .append_pair("limit", LIST_PAGE);
                if let Some(after) = &after {
                    query.append_pair("starting_after", after);
                }
                query.finish()
            };
            let (status, json) = self.call(operation, Method::GET, &format!("{path}?{query}"), &[], None).await?;
            let Some(page) = json["data"].as_array().filter(|_| status == StatusCode::OK) else {
                return Err(error_of(operation, status, &json));
            };
            page.iter().filter(|o| o["created"].as_i64().is_some_and(|c| window.contains(&c))).for_each(&mut each);
            match (json["has_more"].as_bool(), page.last().and_then(|o| text(&o["id"]))) {
                (Some(true), Some(last)) => after = Some(last),
                _ => return Ok(()),
            }
        }
    }
}

/// A charge or refund object as the books hold it.
fn held(object: &Value, moved: bool) -> Held {
    Held {
        amount: object["amount"].as_i64().unwrap_or_default(),
        currency: object["currency"].as_str().unwrap_or_default().to_ascii_uppercase(),
        moved,
        created: Timestamp::from_millis(object["created"].as_i64().unwrap_or_default() * 1000),
    }
}

/// Whether a 4xx answer refuses the request for good, so nothing moved and asking again cannot
/// change it: anything but a rate limit (429), a key still in use by a request in flight (409), or
/// a key first used with other parameters (`idempotency_error`, which says nothing of the first).
fn refused_for_good(status: u16, error: &Value) -> bool {
    (400..500).contains(&status) && !matches!(status, 409 | 429) && error["type"] != "idempotency_error"
}

/// A decline's short code, from the provider's `decline_code` or `code` (never its message).
pub(super) fn decline_code(error: &Value) -> &'static str {
    let said = |name: &str| error["decline_code"] == name || error["code"] == name;
    if said("insufficient_funds") {
        "insufficient_funds"
    } else if said("authentication_required") {
        "authentication_required"
    } else {
        "card_declined"
    }
}

/// What a non-2xx answer says went wrong, or that it is not an answer we can act on.
fn error_of(operation: &'static str, status: StatusCode, json: &Value) -> Unanswered {
    let message = json["error"]["message"].as_str().unwrap_or("no error message").to_owned();
    Unanswered { operation, source: format!("HTTP {status}: {message}").into() }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// A refund object as an outcome; `None` for a status we do not know.
pub(super) fn refund_outcome(refund: &Value) -> Option<RefundOutcome> {
    let id = text(&refund["id"])?;
    Some(match refund["status"].as_str()? {
        "succeeded" => RefundOutcome::Succeeded { id },
        "pending" | "requires_action" => RefundOutcome::Pending { id },
        "failed" | "canceled" => {
            let reason = text(&refund["failure_reason"]).unwrap_or_else(|| "the provider failed the refund".into());
            RefundOutcome::Failed { id: Some(id), reason }
        }
        _ => return None,
    })
}

impl PaymentProvider for StripeProvider {
    #[tracing::instrument(skip_all, fields(payment_id = %request.payment_id))]
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, Unanswered> {
        const OPERATION: &str = "a charge";
        let form = [
            ("amount", request.amount.to_string()),
            ("currency", request.currency.as_str().to_ascii_lowercase()),
            ("confirm", "true".into()),
            ("capture_method", "automatic".into()),
            ("payment_method_data[type]", "card".into()),
            ("payment_method_data[card][token]", request.source.clone()),
            ("metadata[payment_id]", request.payment_id.to_string()),
            ("metadata[order_id]", request.order_id.to_string()),
        ];
        let key = Some(request.payment_id.to_string());
        let (status, json) = self.call(OPERATION, Method::POST, "/v1/payment_intents", &form, key).await?;
        let error = &json["error"];
        match status.as_u16() {
            200 => self.intent_outcome(OPERATION, &json, &request.payment_id).await,
            402 if error["type"] == "card_error" => Ok(ChargeOutcome::Declined(decline_code(error))),
            400 if error["type"] == "invalid_request_error"
                && error["param"].as_str().is_some_and(|p| p.contains("token")) =>
            {
                Ok(ChargeOutcome::InvalidSource)
            }
            status if refused_for_good(status, error) => {
                tracing::error!(status, code = error["code"].as_str(), "the provider refused a charge for good");
                Ok(ChargeOutcome::Refused)
            }
            _ => Err(error_of(OPERATION, status, &json)),
        }
    }

    fn limits(&self) -> &AmountLimits {
        &self.settings.limits
    }

    /// Searches the payment intents by our id in their metadata (the provider's search is
    /// eventually consistent: an intent made in the last minute may not show yet, which is why
    /// this is asked only of a payment whose first ask is over).
    #[tracing::instrument(skip_all, fields(payment_id = %payment_id))]
    async fn find_charge(&self, payment_id: &PaymentId) -> Result<Option<ChargeOutcome>, Unanswered> {
        const OPERATION: &str = "looking a payment up";
        let query = format!("metadata['payment_id']:'{payment_id}'");
        let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("query", &query).finish();
        let path = format!("/v1/payment_intents/search?{query}");
        let (status, json) = self.call(OPERATION, Method::GET, &path, &[], None).await?;
        let Some(found) = json["data"].as_array().filter(|_| status == StatusCode::OK) else {
            return Err(error_of(OPERATION, status, &json));
        };
        let ours = |intent: &&Value| intent["metadata"]["payment_id"] == payment_id.to_string().as_str();
        // One intent per payment id (its key made it); a succeeded one wins if there were ever more.
        let intent = found.iter().filter(ours).max_by_key(|intent| intent["status"] == "succeeded");
        match intent {
            Some(intent) => self.intent_outcome(OPERATION, intent, payment_id).await.map(Some),
            None => Ok(None),
        }
    }

    /// Lists the charge's refunds (a payment has at most 100, one page) for our refund id in their
    /// metadata.
    #[tracing::instrument(skip_all, fields(refund_id = %request.refund_id))]
    async fn find_refund(&self, request: &RefundRequest) -> Result<Option<RefundOutcome>, Unanswered> {
        const OPERATION: &str = "looking a refund up";
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("charge", &request.charge)
            .append_pair("limit", LIST_PAGE)
            .finish();
        let (status, json) = self.call(OPERATION, Method::GET, &format!("/v1/refunds?{query}"), &[], None).await?;
        let Some(page) = json["data"].as_array().filter(|_| status == StatusCode::OK) else {
            return Err(error_of(OPERATION, status, &json));
        };
        let ours = page.iter().find(|r| r["metadata"]["refund_id"] == request.refund_id.to_string().as_str());
        match ours {
            Some(refund) => refund_outcome(refund).map(Some).ok_or_else(|| error_of(OPERATION, status, refund)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip_all, fields(refund_id = %request.refund_id))]
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, Unanswered> {
        const OPERATION: &str = "a refund";
        let form = [
            ("charge", request.charge.clone()),
            ("amount", request.amount.to_string()),
            ("metadata[refund_id]", request.refund_id.to_string()),
            ("metadata[payment_id]", request.payment_id.to_string()),
        ];
        let key = Some(request.refund_id.to_string());
        let (status, json) = self.call(OPERATION, Method::POST, "/v1/refunds", &form, key).await?;
        let error = &json["error"];
        match status.as_u16() {
            200 => refund_outcome(&json).ok_or_else(|| error_of(OPERATION, status, &json)),
            // The provider refused to make it (more than the charge holds, a key it does not accept):
            // nothing moved.
            status if refused_for_good(status, error) => {
                tracing::error!(status, code = error["code"].as_str(), "the provider refused a refund for good");
                Ok(RefundOutcome::Failed { id: None, reason: PROVIDER_REFUSED.into() })
            }
            _ => Err(error_of(OPERATION, status, &json)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn books(&self, from: Timestamp, to: Timestamp) -> Result<ProviderBooks, Unanswered> {
        let mut books = ProviderBooks::default();
        // Ours only: the account may take payments other than the platform's. A charge carries its
        // intent's metadata (copied when the intent is confirmed), a refund the metadata we gave it.
        self.each_created("listing charges", "/v1/charges", (from, to), |charge| {
            let moved = charge["status"] == "succeeded" && charge["captured"] != false;
            if let Some(id) = charge["metadata"]["payment_id"].as_str() {
                // A failed attempt and a capture under one payment: the capture is what counts.
                let entry = books.captures.entry(id.to_owned()).or_insert_with(|| held(charge, moved));
                if moved {
                    *entry = held(charge, moved);
                }
            }
        })
        .await?;
        self.each_created("listing refunds", "/v1/refunds", (from, to), |refund| {
            if let Some(id) = refund["metadata"]["refund_id"].as_str() {
                books.refunds.insert(id.to_owned(), held(refund, refund["status"] == "succeeded"));
            }
        })
        .await?;
        Ok(books)
    }

    async fn refund_status(&self, id: &str) -> Result<RefundOutcome, Unanswered> {
        const OPERATION: &str = "a refund's status";
        let path = format!("/v1/refunds/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
        let (status, json) = self.call(OPERATION, Method::GET, &path, &[], None).await?;
        match status.as_u16() {
            200 => refund_outcome(&json).ok_or_else(|| error_of(OPERATION, status, &json)),
            _ => Err(error_of(OPERATION, status, &json)),
        }
    }
}
