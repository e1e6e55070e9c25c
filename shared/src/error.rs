//! The domain error. Each variant says which HTTP status it becomes; the mapping itself lives in
//! [`crate::http::error`], the only place that turns an error into a response.

use std::borrow::Cow;

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem with one field of the input, as the contract's `details` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 `VALIDATION_FAILED`: the input is malformed; `details` names each problem.
    #[error("{message}")]
    Validation { message: Cow<'static, str>, details: Vec<FieldProblem> },
    /// 401 `UNAUTHORIZED`: no verified caller.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// 402 `PAYMENT_DECLINED`.
    #[error("{0}")]
    PaymentDeclined(Cow<'static, str>),
    /// 403 `FORBIDDEN`: a verified caller acting for someone else.
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// 404 `NOT_FOUND`; also what another customer's resource looks like.
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    /// 409 `CONFLICT`: the resource's state does not allow the change.
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    /// 409 `CONCURRENT_CHANGE`, with `Retry-After`: the same item changed under us; the client may
    /// simply retry. Never stored under an `Idempotency-Key`.
    #[error("the resource changed concurrently; retry")]
    ConcurrentChange,
    /// 412 `PRECONDITION_FAILED`: a stale `If-Match`.
    #[error("{0}")]
    PreconditionFailed(Cow<'static, str>),
    /// 413 `PAYLOAD_TOO_LARGE`.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    #[error("content-type must be application/json")]
    UnsupportedMediaType,
    /// 422 `IDEMPOTENCY_KEY_REUSED`.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// 500 `INTERNAL`: a fault of ours or of AWS; logged in full, never shown to the client.
    #[error("internal error: {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// A validation failure of a single field.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Validation {
            message: "request validation failed".into(),
            details: vec![FieldProblem::new(field, problem)],
        }
    }

    /// Wraps an infrastructure failure, naming what we were doing.
    pub fn internal(context: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal { context, source: source.into() }
    }

    /// The 404 of an order that does not exist, or is another customer's.
    pub fn order_not_found() -> Self {
        Self::NotFound("Order not found".into())
    }

    /// The 404 of a payment that does not exist, or is another customer's.
    pub fn payment_not_found() -> Self {
        Self::NotFound("Payment not found".into())
    }
}

/// `.context("writing a new order")` on the result of an infrastructure call (the SDK, serde, I/O):
/// its error becomes [`Error::Internal`], naming what we were doing, with the source kept.
/// Not for results that already carry a domain [`Error`], which would lose their status.
pub trait ResultExt<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T, E> ResultExt<T> for std::result::Result<T, E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::internal(context, source))
    }
}

/// What the Lambda runtime reports for a failed invocation of an event function: the error's
/// code as `errorType` (`INTERNAL`, `VALIDATION_FAILED`, ...) and its message with every source.
impl From<Error> for lambda_http::lambda_runtime::Diagnostic {
    fn from(err: Error) -> Self {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self { error_type: err.code().to_owned(), error_message: message }
    }
}

/// Collects every problem of an input before failing, so a client sees them all at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldProblem::new(field, problem));
    }

    /// Records the problem of a failed parse and returns the value of a successful one.
    pub fn check<T>(&mut self, result: Result<T, FieldProblem>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }

    pub fn into_result(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation { message: "request validation failed".into(), details: self.0 })
        }
    }
}

impl From<FieldProblem> for Error {
    fn from(problem: FieldProblem) -> Self {
        Self::Validation { message: "request validation failed".into(), details: vec![problem] }
    }
}
