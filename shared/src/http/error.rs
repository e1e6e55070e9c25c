//! The one mapping from [`Error`] to the contract's error response (each error's status and code
//! are the error's own: [`Error::status`], [`Error::code`]).

use lambda_http::{Body, Response};
use serde::Serialize;

use super::response::json;
use crate::error::{Error, FieldProblem, Result};

/// `{"error", "code", "details"}`, the shape of every error the API returns.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    code: &'static str,
    details: &'a [FieldProblem],
}

/// The response for an error. Internal errors are logged with their whole source chain and
/// reach the client only as a generic message.
pub fn error_response(err: &Error) -> Response<Body> {
    let message = match err {
        Error::Internal { .. } => {
            tracing::error!(error = ?err, "request failed");
            "internal error".to_owned()
        }
        other => other.to_string(),
    };
    let details = match err {
        Error::Validation { details, .. } => details.as_slice(),
        _ => &[],
    };
    let mut response = json(err.status(), &ErrorBody { error: message, code: err.code(), details });
    if matches!(err, Error::ConcurrentChange) {
        response.headers_mut().insert(lambda_http::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    }
    response
}

/// The response for a handler's result.
pub fn respond(result: Result<Response<Body>>) -> Response<Body> {
    result.unwrap_or_else(|err| error_response(&err))
}

/// What `Retry-After` asks of a client after a `CONCURRENT_CHANGE`.
pub const RETRY_AFTER_SECONDS: u16 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn validation_errors_list_their_fields() {
        let response = error_response(&Error::invalid("items[2].quantity", "must be at least 1"));
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(
            body(&response),
            serde_json::json!({
                "error": "request validation failed",
                "code": "VALIDATION_FAILED",
                "details": [{"field": "items[2].quantity", "problem": "must be at least 1"}]
            })
        );
    }

    #[test]
    fn internal_errors_leak_nothing() {
        let secret = std::io::Error::other("table arn:aws:dynamodb:secret-table");
        let response = error_response(&Error::internal("reading an order", secret));
        assert_eq!(response.status(), 500);
        assert_eq!(body(&response), serde_json::json!({"error": "internal error", "code": "INTERNAL", "details": []}));
    }

    #[test]
    fn every_error_has_its_documented_status_and_code() {
        let cases = [
            (Error::Unauthorized, 401, "UNAUTHORIZED"),
            (Error::PaymentDeclined("declined".into()), 402, "PAYMENT_DECLINED"),
            (Error::Forbidden("no".into()), 403, "FORBIDDEN"),
            (Error::NotFound("Order not found".into()), 404, "NOT_FOUND"),
            (Error::Conflict("no".into()), 409, "CONFLICT"),
            (Error::ConcurrentChange, 409, "CONCURRENT_CHANGE"),
            (Error::PreconditionFailed("no".into()), 412, "PRECONDITION_FAILED"),
            (Error::PayloadTooLarge { limit: 1 }, 413, "PAYLOAD_TOO_LARGE"),
            (Error::UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"),
            (Error::IdempotencyKeyReused, 422, "IDEMPOTENCY_KEY_REUSED"),
        ];
        for (err, status, code) in cases {
            let response = error_response(&err);
            assert_eq!(response.status(), status);
            assert_eq!(body(&response)["code"], code);
        }
    }
}
