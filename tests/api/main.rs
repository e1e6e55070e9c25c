mod helpers;

mod fixtures;
mod idempotency;
mod malformed_input;
mod openapi;
mod order_processor;
mod orders_cancel;
mod orders_create;
mod orders_get;
mod orders_list;
mod orders_update;
mod outbox;
mod payments_create;
mod payments_get;
mod payments_refund;
mod report;
mod template;
