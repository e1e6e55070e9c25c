//! Refunds of a captured intent: at most what is left of it; `pending` then `failed` for
//! `tok_refundFails`'s charges, `succeeded` otherwise.

use super::*;

pub(super) async fn create(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Form(params): Form<Params>,
) -> Response {
    const PATH: &str = "/v1/refunds";
    let running = match emulator.admit(PATH, &headers, &params) {
        Ok(running) => running,
        Err(answered) => return *answered,
    };
    let charge_id = params.get("charge").cloned().unwrap_or_default();
    let (body, fails) = {
        let mut books = emulator.books.lock().unwrap();
        let Some(charge) = books.charges.get(&charge_id) else {
            let extra = json!({"code": "resource_missing", "param": "charge"});
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", "No such charge", extra);
        };
        let left = charge.amount - charge.held;
        let amount = match params.get("amount").map(|a| a.parse::<i64>()) {
            None => left,
            Some(Ok(amount)) if amount > 0 => amount,
            Some(_) => {
                let extra = json!({"param": "amount"});
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", "Invalid positive integer", extra);
            }
        };
        if amount > left {
            let message = format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})");
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message, json!({"param": "amount"}));
        }
        let fails = charge.token == "tok_refundFails";
        let (intent, currency) = (charge.intent.clone(), charge.currency.clone());
        let metadata = metadata(&params);
        let id = books.id("re");
        let refund = json!({
            "id": id, "object": "refund", "amount": amount, "currency": currency, "charge": charge_id,
            "payment_intent": intent, "status": if fails { "pending" } else { "succeeded" }, "metadata": metadata,
            "created": books.now(),
        });
        books.charges.get_mut(&charge_id).expect("found above").held += amount;
        books.refunds.insert(id, refund.clone());
        (refund, fails)
    };
    emulator.remember(PATH, &headers, &params, 200, &body);
    drop(running);
    emulator.notify("refund.created", &body);
    if fails {
        let (emulator, refund) = (emulator.clone(), body.clone());
        tokio::spawn(async move {
            tokio::time::sleep(emulator.settings.refund_failure_delay).await;
            let failed = {
                let mut books = emulator.books.lock().unwrap();
                let Some(stored) = books.refunds.get_mut(refund["id"].as_str().unwrap_or_default()) else { return };
                stored["status"] = "failed".into();
                stored["failure_reason"] = "expired_or_canceled_card".into();
                let failed = stored.clone();
                if let Some(charge) = books.charges.get_mut(refund["charge"].as_str().unwrap_or_default()) {
                    charge.held -= refund["amount"].as_i64().unwrap_or_default();
                }
                failed
            };
            emulator.notify("refund.updated", &failed);
            emulator.notify("refund.failed", &failed);
        });
    }
    answer(200, body)
}

pub(super) async fn get(State(emulator): State<Emulator>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = emulator.unauthorized(&headers) {
        return refused;
    }
    match emulator.books.lock().unwrap().refunds.get(&id) {
        Some(refund) => answer(200, refund.clone()),
        None => error(StatusCode::NOT_FOUND, "invalid_request_error", "No such refund", json!({})),
    }
}
