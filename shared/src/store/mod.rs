//! The DynamoDB repository. Every invariant is a condition on the write that needs it; no
//! method reads an item to decide whether to write it.

mod expr;
mod orders;

pub use orders::{OrderPage, OrderStore, PageRequest, Written};

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Serialize, de::DeserializeOwned};
use serde_dynamo::aws_sdk_dynamodb_1 as dynamo;

use crate::error::{Error, Result};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn to_item(value: &impl Serialize) -> Result<Item> {
    dynamo::to_item(value).map_err(|e| Error::internal("encoding an item", e))
}

pub(crate) fn to_value(value: &impl Serialize) -> Result<AttributeValue> {
    dynamo::to_attribute_value(value).map_err(|e| Error::internal("encoding an attribute", e))
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    dynamo::from_item(item).map_err(|e| Error::internal("decoding an item", e))
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
