//! The API Gateway edge, shared by every HTTP function: who is calling, what they sent, and how
//! results and errors are written back.

mod error;
mod idempotent;
mod request;
mod response;
mod run;

#[cfg(test)]
mod property_tests;

pub use error::{error_response, respond};
pub use idempotent::{idempotency_key, idempotent};
pub use request::{MAX_BODY_BYTES, caller, if_match, json_body, path_order_id, path_param, query};
pub use response::{accepted, created, json};
pub use run::run;

pub use lambda_http::{Body, Request, Response, http::StatusCode};
