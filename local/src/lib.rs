//! The local platform: `template.yaml` stood up on the AWS emulators (`provision`), the payment
//! provider's emulator (`provider_emulator`), and the container server's edge and loops
//! (`server`) over them, in one process, with what only a laptop has: development tokens
//! (`tokens`) and a route that runs the report now (`report_route`). The tests and `scripts/dev`
//! both use it.

pub mod identity;
pub mod provider_emulator;
pub mod provision;
pub mod report_route;
pub mod specs;
pub mod tokens;

pub use identity::as_function;
pub use provision::{Resources, provision};
