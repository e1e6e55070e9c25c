mod helpers;

mod fixtures;
mod malformed_input;
mod orders_cancel;
mod orders_create;
mod orders_get;
mod orders_list;
mod orders_update;
mod template;
