//! The local platform: `template.yaml` stood up on the AWS emulators (`provision`), the payment
//! provider's emulator (`provider_emulator`), and the container server's edge and loops
//! (`server`) over them, in one process, with what only a laptop has: development tokens
//! (`tokens`), a route that runs the report now (`report_route`), a Lambda Runtime API to run a
//! function's own binary under (`runtime_api`) and a receiver for its traces (`otlp_receiver`).
//! The tests, the bench and `scripts/dev` use it.

pub mod identity;
pub mod otlp_receiver;
pub mod provider_emulator;
pub mod provision;
pub mod report_route;
pub mod runtime_api;
pub mod specs;
pub mod tokens;

pub use identity::as_function;
pub use provision::{Resources, provision};
