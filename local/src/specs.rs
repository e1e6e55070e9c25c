//! What the local platform stands up of `template.yaml` on an emulator: the table's keys and
//! indexes, the queues and their redrive policy, and the names of those resources.

use serde::Deserialize;
use serde_yaml::Value;
use server::template::TEMPLATE_YAML;

pub const TABLE: &str = "OrdersTable";
pub const QUEUE: &str = "OrderQueue";
pub const DEAD_LETTER_QUEUE: &str = "OrderDeadLetterQueue";
pub const BUCKET: &str = "ExportsBucket";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("template.yaml is not valid YAML")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml has no {0} resource")]
    Missing(&'static str),
}

/// The template's table and queues, as written.
#[derive(Debug, Clone)]
pub struct Specs {
    pub table: TableSpec,
    pub queue: QueueSpec,
    pub dead_letter_queue: QueueSpec,
}

impl Specs {
    /// The repository's `template.yaml`'s, parsed once per process.
    pub fn bundled() -> Self {
        static PARSED: std::sync::OnceLock<Specs> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| Self::parse(TEMPLATE_YAML).expect("template.yaml is checked by the test suite")).clone()
    }

    pub fn parse(yaml: &str) -> Result<Self, SpecError> {
        let document: Value = serde_yaml::from_str(yaml)?;
        let properties = |id: &'static str| -> Result<Value, SpecError> {
            let properties = &document["Resources"][id]["Properties"];
            if properties.is_null() { Err(SpecError::Missing(id)) } else { Ok(properties.clone()) }
        };
        Ok(Self {
            table: serde_yaml::from_value(properties(TABLE)?)?,
            queue: serde_yaml::from_value(properties(QUEUE)?)?,
            dead_letter_queue: serde_yaml::from_value(properties(DEAD_LETTER_QUEUE)?)?,
        })
    }
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
