//! Business metrics as CloudWatch Embedded Metric Format: one JSON document per line on stdout,
//! which CloudWatch Logs turns into metrics in the `OrdersPlatform` namespace, with the function
//! name as dimension (and the currency for money).

use std::sync::{OnceLock, RwLock};

use serde_json::{Map, Value, json};

use crate::domain::{Currency, Timestamp};

pub const NAMESPACE: &str = "OrdersPlatform";

type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: RwLock<Option<Sink>> = RwLock::new(None);
type Observer = Box<dyn Fn(&Metric, Option<Currency>) + Send + Sync>;
static OBSERVER: RwLock<Option<Observer>> = RwLock::new(None);

/// One metric value.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub value: i64,
    /// A CloudWatch unit: `Count`, or `None` for amounts of money in minor units.
    pub unit: &'static str,
}

impl Metric {
    pub const fn count(name: &'static str, value: i64) -> Self {
        Self { name, value, unit: "Count" }
    }

    pub const fn minor_units(name: &'static str, value: i64) -> Self {
        Self { name, value, unit: "None" }
    }
}

/// Emits `metrics`, dimensioned by function (and `currency` when given). `properties` are kept
/// in the log line for searching (ids), not turned into dimensions.
pub fn emit(metrics: &[Metric], currency: Option<Currency>, properties: &[(&str, String)]) {
    static FUNCTION: OnceLock<String> = OnceLock::new();
    let function =
        FUNCTION.get_or_init(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()));
    let mut dimensions = vec!["FunctionName"];
    let mut document = Map::new();
    document.insert("FunctionName".into(), function.as_str().into());
    if let Some(currency) = currency {
        dimensions.push("Currency");
        document.insert("Currency".into(), currency.as_str().into());
    }
    for metric in metrics {
        document.insert(metric.name.into(), metric.value.into());
    }
    for (name, value) in properties {
        document.insert((*name).into(), value.clone().into());
    }
    let definitions: Vec<Value> = metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit})).collect();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": Timestamp::now().millis(),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": definitions}],
        }),
    );
    if let Some(observer) = OBSERVER.read().ok().as_deref().and_then(Option::as_ref) {
        for metric in metrics {
            observer(metric, currency);
        }
    }
    let line = Value::Object(document).to_string();
    match SINK.read().ok().as_deref().and_then(Option::as_ref) {
        Some(sink) => sink(&line),
        None => println!("{line}"),
    }
}

/// Also hands every metric to `observer` (the container server counts them for Prometheus).
pub fn observe(observer: impl Fn(&Metric, Option<Currency>) + Send + Sync + 'static) {
    if let Ok(mut slot) = OBSERVER.write() {
        *slot = Some(Box::new(observer));
    }
}

/// Sends every metric document to `sink` instead of stdout (tests read them this way).
pub fn redirect(sink: impl Fn(&str) + Send + Sync + 'static) {
    if let Ok(mut slot) = SINK.write() {
        *slot = Some(Box::new(sink));
    }
}
