//! The platform's shared crate: everything the Lambda functions have in common.
//!
//! - [`domain`]: ids, money, orders and their state machine (pure, no AWS);
//! - [`keys`]: the single-table key schema, the only place that spells a key;
//! - [`store`]: the DynamoDB repository;
//! - [`events`]: queue events and their SQS publisher; [`outbox`] delivers them;
//! - [`order_decisions`]: deciding orders, for the processor and the sweeper;
//! - [`exports`]: the exports bucket, streamed to by multipart upload;
//! - [`cashier`]: the one door for money: paying, refunding, applying the provider's events,
//!   reconciling;
//! - [`http`]: the API Gateway edge: callers, bodies, responses, and the one error mapping;
//! - [`aws`] and [`config`]: clients and settings, built once per cold start; [`secret`]: secrets,
//!   read again every few minutes;
//! - [`telemetry`] and [`metrics`]: structured logs with correlation ids, and EMF metrics.

pub mod aws;
pub mod cashier;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod events;
pub mod exports;
pub mod faults;
pub mod http;
pub mod https;
pub mod keys;
pub mod lambda;
pub mod metrics;
pub mod order_decisions;
pub mod outbox;
pub mod payment_provider;
pub mod secret;
pub mod store;
pub mod telemetry;

pub use error::{Error, Result, ResultExt};
