//! The bridge between `template.yaml` and a laptop: it reads the template, stands its table,
//! queues and bucket up on an AWS emulator, and turns plain HTTP requests into the API Gateway
//! events the functions receive in AWS. The tests and the local platform both use it.

pub mod app;
pub mod auth;
pub mod gateway;
pub mod provision;
pub mod queue;
pub mod server;
pub mod template;

pub use app::{App, Names};
pub use provision::{Resources, provision};
pub use template::Template;
