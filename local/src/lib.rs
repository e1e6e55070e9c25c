//! The local platform: `template.yaml` stood up on the AWS emulators (`provision`), the payment
//! provider's emulator (`provider_emulator`), and the container server's edge and loops
//! (`server`) over them, in one process. The tests and `scripts/dev` both use it.

pub mod identity;
pub mod provider_emulator;
pub mod provision;

pub use identity::as_function;
pub use provision::{Resources, provision};
