//! What the server needs to know of `template.yaml`: its functions, and which serves which route.
//! (The table, queues and bucket it stands up on an emulator are the local platform's business.)

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

/// The template, compiled in so that tests and the local platform read exactly what deploys.
pub const TEMPLATE_YAML: &str = include_str!("../../template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml is not valid YAML")]
    Yaml(#[from] serde_yaml::Error),
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<FunctionSpec>,
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
        let functions = document
            .resources
            .iter()
            .filter(|(_, r)| r.kind == "AWS::Serverless::Function")
            .map(|(id, r)| function(id, r))
            .collect();
        Ok(Self { functions })
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
