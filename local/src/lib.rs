//! The local platform: it reads `template.yaml`, stands its table, queues and bucket up on the AWS
//! emulators, and turns plain HTTP requests into the API Gateway events the functions receive in
//! AWS, calling every function's handler in one process. The tests and `scripts/dev` both use it.

pub mod api_gateway;
pub mod app;
pub mod auth;
pub mod provider_emulator;
pub mod provision;
pub mod queue;
pub mod server;
pub mod template;

pub use app::{App, Names, Settings};
pub use provision::{Resources, provision};
pub use template::Template;
