//! The pre-traffic hook of every API function's deployment (CodeDeploy's `BeforeAllowTraffic`):
//! before an alias shifts any traffic, it invokes the new version of each API function with a
//! probe, a read-only request built from that function's fixture in `events/` and wrong on
//! purpose (an order that does not exist, a body that does not validate, no webhook signature),
//! checks that each answers as the contract says, in the contract's error shape, and tells
//! CodeDeploy. A version that cannot start, cannot reach its settings or answers wrongly fails the
//! hook, and CodeDeploy rolls the deployment back before a single client request reaches it.
//!
//! The probes write nothing: a `GET` or `DELETE` of an id that does not exist, a `POST` or `PUT`
//! refused by validation before any read, without an `Idempotency-Key` (so no record is claimed).

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use platform::config::{self, ConfigError};
use serde::Deserialize;
use serde_json::Value;

/// How a probe turns its fixture into a request that must be refused.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// The fixture as it is: its id names nothing.
    None,
    /// Another body.
    Body(&'static str),
    /// Another query string.
    Query(&'static str),
}

/// One API function's probe and the answer it must give.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The function's binary (and crate) name.
    pub function: &'static str,
    /// The variable holding the ARN of the function's version under test.
    pub version_variable: &'static str,
    fixture: &'static str,
    change: Change,
    pub status: u16,
    pub code: &'static str,
}

/// Every API function's probe.
pub const PROBES: [Probe; 9] = [
    Probe {
        function: "orders-create",
        version_variable: "ORDERS_CREATE_VERSION",
        fixture: include_str!("../../../events/orders-create.json"),
        change: Change::Body("{}"),
        status: 400,
        code: "VALIDATION_FAILED",
    },
    Probe {
        function: "orders-get",
        version_variable: "ORDERS_GET_VERSION",
        fixture: include_str!("../../../events/orders-get.json"),
        change: Change::None,
        status: 404,
        code: "NOT_FOUND",
    },
    Probe {
        function: "orders-list",
        version_variable: "ORDERS_LIST_VERSION",
        fixture: include_str!("../../../events/orders-list.json"),
        change: Change::Query("customerId=alice&limit=0"),
        status: 400,
        code: "VALIDATION_FAILED",
    },
    Probe {
        function: "orders-update",
        version_variable: "ORDERS_UPDATE_VERSION",
        fixture: include_str!("../../../events/orders-update.json"),
        change: Change::Body("{}"),
        status: 400,
        code: "VALIDATION_FAILED",
    },
    Probe {
        function: "orders-cancel",
        version_variable: "ORDERS_CANCEL_VERSION",
        fixture: include_str!("../../../events/orders-cancel.json"),
        change: Change::None,
        status: 404,
        code: "NOT_FOUND",
    },
    Probe {
        function: "payments-create",
        version_variable: "PAYMENTS_CREATE_VERSION",
        fixture: include_str!("../../../events/payments-create.json"),
        change: Change::Body("{}"),
        status: 400,
        code: "VALIDATION_FAILED",
    },
    Probe {
        function: "payments-get",
        version_variable: "PAYMENTS_GET_VERSION",
        fixture: include_str!("../../../events/payments-get.json"),
        change: Change::None,
        status: 404,
        code: "NOT_FOUND",
    },
    Probe {
        function: "payments-refund",
        version_variable: "PAYMENTS_REFUND_VERSION",
        fixture: include_str!("../../../events/payments-refund.json"),
        change: Change::Body(r#"{"amount": 0}"#),
        status: 400,
        code: "VALIDATION_FAILED",
    },
    Probe {
        function: "payment-webhook",
        version_variable: "PAYMENT_WEBHOOK_VERSION",
        fixture: include_str!("../../../events/payment-webhook.json"),
        change: Change::None,
        status: 401,
        code: "UNAUTHORIZED",
    },
];

impl Probe {
    /// The API Gateway event (payload 2.0) the function is invoked with.
    pub fn event(&self) -> Value {
        let mut event: Value = serde_json::from_str(self.fixture).expect("the fixtures are JSON");
        if let Some(headers) = event["headers"].as_object_mut() {
            headers.remove("idempotency-key");
        }
        match self.change {
            Change::None => {}
            Change::Body(body) => event["body"] = body.into(),
            Change::Query(query) => {
                event["rawQueryString"] = query.into();
                let pairs = query.split('&').filter_map(|pair| pair.split_once('='));
                event["queryStringParameters"] = pairs.map(|(k, v)| (k.to_owned(), Value::from(v))).collect();
            }
        }
        event
    }

    /// What is wrong with the function's answer (a Lambda proxy response), if anything.
    pub fn judge(&self, answer: &Value) -> Option<String> {
        let status = answer["statusCode"].as_u64();
        let body: Value = answer["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
        let shaped = body["error"].is_string() && body["details"].is_array();
        (status != Some(u64::from(self.status)) || body["code"] != self.code || !shaped)
            .then(|| format!("expected {} {} in the contract's error shape, got {answer}", self.status, self.code))
    }
}

/// A probe that did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub function: &'static str,
    pub problem: String,
}

/// Invokes a function's version under test with an event; its response payload.
pub trait Invoker: Send + Sync {
    fn invoke(&self, function: &'static str, event: Value) -> impl Future<Output = Result<Value, String>> + Send;
}

/// Runs every probe; what failed (nothing, when the release may take traffic).
pub async fn check(invoker: &impl Invoker) -> Vec<Failure> {
    let mut failures = vec![];
    for probe in &PROBES {
        let problem = match invoker.invoke(probe.function, probe.event()).await {
            Ok(answer) => probe.judge(&answer),
            Err(error) => Some(error),
        };
        if let Some(problem) = problem {
            tracing::error!(function = probe.function, %problem, "a new version failed its probe");
            failures.push(Failure { function: probe.function, problem });
        }
    }
    failures
}

/// What CodeDeploy sends its hooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// Where the hook's verdict goes.
pub trait Verdicts: Send + Sync {
    fn report(&self, event: &HookEvent, passed: bool) -> impl Future<Output = Result<(), platform::Error>> + Send;
}

/// Probes the release and reports the verdict; `Ok(false)` when a probe failed (the verdict,
/// reported, is what rolls the deployment back; the invocation itself succeeds).
pub async fn handle(
    invoker: &impl Invoker,
    verdicts: &impl Verdicts,
    event: HookEvent,
) -> Result<bool, platform::Error> {
    let failures = check(invoker).await;
    let passed = failures.is_empty();
    tracing::info!(deployment = %event.deployment_id, passed, failed = failures.len(), "release checked");
    verdicts.report(&event, passed).await?;
    Ok(passed)
}

/// The new versions, from the environment: each probe's `version_variable` (e.g.
/// `ORDERS_CREATE_VERSION`) holds the ARN of the version being deployed (`template.yaml`).
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    lambda: aws_sdk_lambda::Client,
    versions: BTreeMap<&'static str, String>,
}

impl LambdaInvoker {
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let mut versions = BTreeMap::new();
        for probe in &PROBES {
            versions.insert(probe.function, config::var(probe.version_variable)?);
        }
        Ok(Self { lambda: aws_sdk_lambda::Client::new(sdk), versions })
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function: &'static str, event: Value) -> Result<Value, String> {
        let version = self.versions.get(function).ok_or_else(|| format!("no version of {function} to probe"))?;
        let payload = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        let output = self
            .lambda
            .invoke()
            .function_name(version)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| format!("invoking {version}: {}", aws_sdk_lambda::error::DisplayErrorContext(e)))?;
        if let Some(error) = output.function_error {
            return Err(format!("{version} failed ({error})"));
        }
        let payload = output.payload.map(Blob::into_inner).unwrap_or_default();
        serde_json::from_slice(&payload).map_err(|e| format!("{version} answered something not JSON: {e}"))
    }
}

/// CodeDeploy, which waits for the hook's verdict.
#[derive(Debug, Clone)]
pub struct CodeDeploy(aws_sdk_codedeploy::Client);

impl CodeDeploy {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_codedeploy::Client::new(sdk))
    }
}

impl Verdicts for CodeDeploy {
    async fn report(&self, event: &HookEvent, passed: bool) -> Result<(), platform::Error> {
        let status = if passed { LifecycleEventStatus::Succeeded } else { LifecycleEventStatus::Failed };
        self.0
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&event.deployment_id)
            .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
            .status(status)
            .send()
            .await
            .map_err(|e| platform::Error::internal("reporting the release check", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_carry_no_idempotency_key_and_name_their_variable() {
        for probe in &PROBES {
            let event = probe.event();
            assert!(event["headers"].get("idempotency-key").is_none(), "{}", probe.function);
            assert_eq!(event["version"], "2.0", "{}", probe.function);
        }
        for probe in &PROBES {
            assert_eq!(probe.version_variable, format!("{}_VERSION", probe.function.to_uppercase().replace('-', "_")));
        }
    }

    #[test]
    fn an_answer_is_judged_by_status_code_and_shape() {
        let probe = PROBES[1];
        let body = |code: &str| serde_json::json!({"code": code, "error": "x", "details": []}).to_string();
        assert_eq!(probe.judge(&serde_json::json!({"statusCode": 404, "body": body("NOT_FOUND")})), None);
        assert!(probe.judge(&serde_json::json!({"statusCode": 200, "body": body("NOT_FOUND")})).is_some());
        assert!(probe.judge(&serde_json::json!({"statusCode": 404, "body": body("OTHER")})).is_some());
        assert!(probe.judge(&serde_json::json!({"statusCode": 404, "body": "{\"message\":\"Not Found\"}"})).is_some());
    }
}
