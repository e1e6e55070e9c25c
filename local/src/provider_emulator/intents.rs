//! Payment intents: created confirmed with automatic capture (or declined, left needing customer
//! authentication, answered late, or captured behind a 500, as the card token says), read back,
//! and cancelled.

use super::*;

const CAPTURING_TOKENS: [&str; 5] =
    ["tok_visa", "tok_mastercard", "tok_timeout", "tok_refundFails", "tok_providerError"];

pub(super) async fn create(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    const PATH: &str = "/v1/payment_intents";
    let running = match emulator.admit(PATH, &headers, &params) {
        Ok(running) => running,
        Err(answered) => return *answered,
    };
    let amount = params.get("amount").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a > 0);
    let (Some(amount), Some(currency)) = (amount, params.get("currency")) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "amount and currency are required", json!({}));
    };
    if !AMOUNTS.contains(&amount) {
        let (code, message) = if amount < *AMOUNTS.start() {
            ("amount_too_small", format!("Amount must be at least {} minor units", AMOUNTS.start()))
        } else {
            ("amount_too_large", format!("Amount must be no more than {} minor units", AMOUNTS.end()))
        };
        let extra = json!({"code": code, "param": "amount"});
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, extra);
    }
    let token = params.get("payment_method_data[card][token]").cloned().unwrap_or_default();
    let metadata = metadata(&params);
    let payment_id = metadata.get("payment_id").map(|v| v.to_string()).unwrap_or_default();
    let (status, body) = {
        let mut books = emulator.books.lock().unwrap();
        let intent_id = books.id("pi");
        let mut intent = json!({
            "id": intent_id, "object": "payment_intent", "amount": amount, "currency": currency,
            "capture_method": "automatic", "metadata": metadata, "latest_charge": null,
        });
        match token.as_str() {
            t if CAPTURING_TOKENS.contains(&t) => {
                let charge = books.id("ch");
                intent["status"] = "succeeded".into();
                intent["latest_charge"] = charge.clone().into();
                let charge_record = Charge {
                    intent: intent_id.clone(),
                    metadata: intent["metadata"].clone(),
                    payment_id,
                    amount,
                    currency: currency.clone(),
                    created: books.now(),
                    held: 0,
                    token: token.clone(),
                };
                books.charges.insert(charge, charge_record);
                books.captures += 1;
                books.intents.insert(intent_id, intent.clone());
                if token == "tok_providerError" {
                    // Captured, yet answered (and, per its key, replayed) as the provider's failure.
                    let error = json!({"type": "api_error", "message": "An unknown error occurred"});
                    let body = json!({"error": error, "payment_intent": intent});
                    (500, body)
                } else {
                    (200, intent)
                }
            }
            "tok_threeDSecureRequired" => {
                // The card asks the customer to authenticate (3-D Secure): confirmed, not paid.
                intent["status"] = "requires_action".into();
                intent["next_action"] = json!({"type": "use_stripe_sdk"});
                books.intents.insert(intent_id, intent.clone());
                (200, intent)
            }
            "tok_chargeDeclined" | "tok_insufficientFunds" => {
                let (code, message) = if token == "tok_chargeDeclined" {
                    ("generic_decline", "Your card was declined.")
                } else {
                    ("insufficient_funds", "Your card has insufficient funds.")
                };
                let error = json!({"type": "card_error", "code": "card_declined", "decline_code": code,
                    "message": message});
                intent["status"] = "requires_payment_method".into();
                intent["last_payment_error"] = error.clone();
                books.intents.insert(intent_id, intent.clone());
                let mut error = error;
                error["payment_intent"] = intent;
                (402, json!({"error": error}))
            }
            _ => {
                let message = format!("No such token: '{}'", token.chars().take(64).collect::<String>());
                let extra = json!({"code": "resource_missing", "param": "payment_method_data[card][token]"});
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, extra);
            }
        }
    };
    match (status, body["status"].as_str()) {
        (200, Some("succeeded")) => emulator.notify("payment_intent.succeeded", &body),
        (200, _) => emulator.notify("payment_intent.requires_action", &body),
        (500, _) => emulator.notify("payment_intent.succeeded", &body["payment_intent"]),
        _ => emulator.notify("payment_intent.payment_failed", &body["error"]["payment_intent"]),
    }
    if token == "tok_timeout" {
        // The capture happened; its answer arrives too late for the caller, and until it is sent
        // the request is still running: the same key meanwhile is a 409.
        tokio::time::sleep(emulator.settings.slow_answer).await;
    }
    emulator.remember(PATH, &headers, &params, status, &body);
    drop(running);
    answer(status, body)
}

pub(super) async fn get(State(emulator): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    match emulator.books.lock().unwrap().intents.get(&id) {
        Some(intent) => answer(200, intent.clone()),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "No such payment_intent", json!({})),
    }
}

/// `POST /v1/payment_intents/{id}/cancel`: an intent not yet paid is cancelled (and stays so);
/// one that succeeded or was cancelled already cannot be.
pub(super) async fn cancel(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(params): Form<Params>,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    let _running = match emulator.admit(&path, &headers, &params) {
        Ok(running) => running,
        Err(answered) => return *answered,
    };
    let cancelled = {
        let mut books = emulator.books.lock().unwrap();
        let Some(intent) = books.intents.get_mut(&id) else {
            return error(StatusCode::NOT_FOUND, "invalid_request_error", "No such payment_intent", json!({}));
        };
        if matches!(intent["status"].as_str(), Some("succeeded" | "canceled")) {
            let message = format!("This PaymentIntent's status is {}, so it cannot be canceled.", intent["status"]);
            let extra = json!({"code": "payment_intent_unexpected_state"});
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, extra);
        }
        intent["status"] = "canceled".into();
        intent.clone()
    };
    emulator.remember(&path, &headers, &params, 200, &cancelled);
    emulator.notify("payment_intent.canceled", &cancelled);
    answer(200, cancelled)
}
