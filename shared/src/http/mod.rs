//! The API Gateway edge, shared by every HTTP function: who is calling, what they sent, and how
//! results and errors are written back.

mod error;
mod request;
mod response;

pub use error::error_response;
pub use request::{MAX_BODY_BYTES, caller, if_match, json_body, path_id, query};
pub use response::{created, json, respond};

pub use lambda_http::{Body, Request, Response, http::StatusCode};
