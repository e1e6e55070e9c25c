//! Payment intents: created confirmed with automatic capture (or declined, or answered late, as
//! the card token says), and read back.

use super::*;

const CAPTURING_TOKENS: [&str; 4] = ["tok_visa", "tok_mastercard", "tok_timeout", "tok_refundFails"];

pub(super) async fn create(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    const PATH: &str = "/v1/payment_intents";
    if let Some(answered) = emulator.admit(PATH, &headers, &params) {
        return answered;
    }
    let amount = params.get("amount").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a > 0);
    let (Some(amount), Some(currency)) = (amount, params.get("currency")) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "amount and currency are required", json!({}));
    };
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
                    payment_id,
                    amount,
                    currency: currency.clone(),
                    created: epoch_seconds(),
                    held: 0,
                    token: token.clone(),
                };
                books.charges.insert(charge, charge_record);
                books.captures += 1;
                books.intents.insert(intent_id, intent.clone());
                (200, intent)
            }
            "tok_chargeDeclined" | "tok_insufficientFunds" => {
                let (code, message) = if token == "tok_chargeDeclined" {
                    ("generic_decline", "Your card was declined.")
                } else {
                    ("insufficient_funds", "Your card has insufficient funds.")
                };
                intent["status"] = "requires_payment_method".into();
                books.intents.insert(intent_id, intent.clone());
                let error = json!({"type": "card_error", "code": "card_declined", "decline_code": code,
                    "message": message, "payment_intent": intent});
                (402, json!({"error": error}))
            }
            _ => {
                let message = format!("No such token: '{}'", token.chars().take(64).collect::<String>());
                let extra = json!({"code": "resource_missing", "param": "payment_method_data[card][token]"});
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, extra);
            }
        }
    };
    emulator.remember(PATH, &headers, &params, status, &body);
    match status {
        200 => emulator.notify("payment_intent.succeeded", &body),
        _ => emulator.notify("payment_intent.payment_failed", &body["error"]["payment_intent"]),
    }
    if token == "tok_timeout" {
        // The capture happened; its answer arrives too late for the caller.
        tokio::time::sleep(emulator.settings.slow_answer).await;
    }
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
