//! What the code needs to know of `template.yaml`: the table's keys and indexes, the queues and
//! their redrive policy, and which function serves which route.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

/// The template, compiled in so that tests and the local platform read exactly what deploys.
pub const TEMPLATE_YAML: &str = include_str!("../../template.yaml");

pub const TABLE: &str = "OrdersTable";
pub const QUEUE: &str = "OrderQueue";
pub const DEAD_LETTER_QUEUE: &str = "OrderDeadLetterQueue";
pub const BUCKET: &str = "ExportsBucket";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml has no {0} resource")]
    Missing(&'static str),
}

#[derive(Debug, Clone)]
pub struct Template {
    pub table: TableSpec,
    pub queue: QueueSpec,
    pub dead_letter_queue: QueueSpec,
    pub functions: Vec<FunctionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    pub key_schema: Vec<KeyElement>,
    pub attribute_definitions: Vec<AttributeDefinition>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub time_to_live_specification: Option<TimeToLive>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueSpec {
    pub visibility_timeout: Option<i64>,
    pub message_retention_period: Option<i64>,
    pub redrive_policy: Option<RedrivePolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedrivePolicy {
    pub max_receive_count: i64,
}

/// A Lambda function of the template: its binary and the HTTP routes it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: String,
    pub timeout: Option<i64>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Whether the JWT authorizer guards it (`Auth: { Authorizer: NONE }` opts a route out).
    pub authorized: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: Value,
    #[serde(default)]
    metadata: Value,
}

impl Template {
    /// The repository's `template.yaml`, parsed once per process (each integration test stands
    /// up its resources from it).
    pub fn bundled() -> Self {
        static PARSED: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| Self::parse(TEMPLATE_YAML).expect("template.yaml is checked by the test suite")).clone()
    }

    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        let document: Document = serde_yaml::from_str(yaml)?;
        let properties = |id: &'static str| -> Result<Value, TemplateError> {
            document.resources.get(id).map(|r| r.properties.clone()).ok_or(TemplateError::Missing(id))
        };
        let functions = document
            .resources
            .iter()
            .filter(|(_, r)| r.kind == "AWS::Serverless::Function")
            .map(|(id, r)| function(id, r))
            .collect();
        Ok(Self {
            table: serde_yaml::from_value(properties(TABLE)?)?,
            queue: serde_yaml::from_value(properties(QUEUE)?)?,
            dead_letter_queue: serde_yaml::from_value(properties(DEAD_LETTER_QUEUE)?)?,
            functions,
        })
    }

    /// The function serving `method path`, where `path` is a route template such as `/orders/{id}`.
    pub fn function_for(&self, method: &str, path: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.routes.iter().any(|r| r.method == method && r.path == path))
    }
}

fn function(id: &str, resource: &Resource) -> FunctionSpec {
    let binary = resource.metadata["BuildProperties"]["Binary"].as_str().unwrap_or_default().to_owned();
    let routes = match &resource.properties["Events"] {
        Value::Mapping(events) => events
            .values()
            .filter(|e| e["Type"].as_str() == Some("HttpApi"))
            .map(|e| Route {
                method: e["Properties"]["Method"].as_str().unwrap_or_default().to_uppercase(),
                path: e["Properties"]["Path"].as_str().unwrap_or_default().to_owned(),
                authorized: e["Properties"]["Auth"]["Authorizer"].as_str() != Some("NONE"),
            })
            .collect(),
        _ => vec![],
    };
    FunctionSpec { logical_id: id.to_owned(), binary, timeout: resource.properties["Timeout"].as_i64(), routes }
}
