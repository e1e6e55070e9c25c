//! Builds DynamoDB expressions with placeholders for every name and value, so no attribute name
//! can hit a reserved word and no client input is ever spliced into expression text.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Default)]
pub(crate) struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The placeholder for an attribute name (`#status`).
    pub fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// A fresh placeholder for a value (`:v3`).
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#attr = :v`.
    pub fn eq(&mut self, attribute: &str, value: AttributeValue) -> String {
        format!("{} = {}", self.name(attribute), self.value(value))
    }

    /// `#attr IN (:a, :b)`.
    pub fn is_in(&mut self, attribute: &str, values: impl IntoIterator<Item = AttributeValue>) -> String {
        let name = self.name(attribute);
        let list: Vec<String> = values.into_iter().map(|v| self.value(v)).collect();
        format!("{name} IN ({})", list.join(", "))
    }

    /// The names map, or `None` when empty (DynamoDB rejects an empty map).
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
