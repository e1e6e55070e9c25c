//! Every function's handler in one process, behind one HTTP edge that does what API Gateway does
//! for them in AWS (routes from `template.yaml`, the JWT authorizer, payload 2.0 events, its body
//! limit and timeout), with the background work (the queue's consumer, the relay, the reconciler,
//! the report) as loops and commands. `platform-server` runs it in a container; the local platform
//! (`local/`) is this plus the emulators. A handler cannot tell where it runs.

pub mod api_gateway;
pub mod app;
pub mod auth;
pub mod edge;
pub mod prometheus;
pub mod queue;
pub mod release;
pub mod template;
pub mod worker;

pub use app::{App, Clients, Names, Settings};
pub use template::Template;
