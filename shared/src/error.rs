//! The domain error, with the HTTP status and the contract's code each variant becomes; the one
//! place that turns an error into a response is [`crate::http::error_response`].

use std::borrow::Cow;

use lambda_http::http::StatusCode;
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
    #[error("request validation failed")]
    Validation { details: Vec<FieldProblem> },
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
    /// The HTTP status the error becomes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::PaymentDeclined(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::ConcurrentChange => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's `code` for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "VALIDATION_FAILED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::PaymentDeclined(_) => "PAYMENT_DECLINED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::ConcurrentChange => "CONCURRENT_CHANGE",
            Self::PreconditionFailed(_) => "PRECONDITION_FAILED",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::Internal { .. } => "INTERNAL",
        }
    }
}

impl Error {
    /// The validation failure of an input: every problem found in it.
    pub fn validation(details: Vec<FieldProblem>) -> Self {
        Self::Validation { details }
    }

    /// A validation failure of a single field.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::validation(vec![FieldProblem::new(field, problem)])
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
        if self.0.is_empty() { Ok(()) } else { Err(Error::validation(self.0)) }
    }
}

impl From<FieldProblem> for Error {
    fn from(problem: FieldProblem) -> Self {
        Self::validation(vec![problem])
    }
}
