//! Runs each packaged bootstrap once, as Lambda would: under the Runtime API emulator, started by a
//! launcher (for the arm64 build, `qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu neoverse-n1`), with
//! one event from `events/`, and requires a well-formed answer. No AWS is reachable (every endpoint
//! refuses), so an HTTP function must answer in the contract's error shape, and a scheduled one
//! may report an error; a bootstrap that dies (SIGILL from code the CPU cannot run, a missing
//! library) or never answers fails.
//!
//! usage: packaged-smoke BUILD_DIR LAUNCHER… — BUILD_DIR holds `<LogicalId>/bootstrap` (`sam
//! build`'s `.aws-sam/build`); `template.yaml` names each function's binary.

// The benchmark's emulator; this check uses only part of it.
#[allow(dead_code)]
use local::runtime_api as runtime;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

/// Every setting a function reads at init, pointing nowhere: secrets given as values, so init
/// reaches no Secrets Manager.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "smoke"),
    ("AWS_SECRET_ACCESS_KEY", "smoke"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("ORDERS_TABLE", "orders"),
    ("ORDER_QUEUE_URL", "http://127.0.0.1:9/123456789012/orders"),
    ("EXPORTS_BUCKET", "exports"),
    ("CURSOR_SECRET", "smoke-cursor-secret"),
    ("PAYMENT_PROVIDER_URL", "http://127.0.0.1:9"),
    ("PAYMENT_PROVIDER_API_KEY", "sk_test_smoke"),
    ("PAYMENT_WEBHOOK_KEY", "whsec_smoke"),
    ("AWS_LAMBDA_FUNCTION_NAME", "smoke"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    // The release check's new versions (template.yaml gives each API function's).
    ("ORDERS_CREATE_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:orders-create:2"),
    ("ORDERS_GET_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:orders-get:2"),
    ("ORDERS_LIST_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:orders-list:2"),
    ("ORDERS_UPDATE_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:orders-update:2"),
    ("ORDERS_CANCEL_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:orders-cancel:2"),
    ("PAYMENTS_CREATE_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:payments-create:2"),
    ("PAYMENTS_GET_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:payments-get:2"),
    ("PAYMENTS_REFUND_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:payments-refund:2"),
    ("PAYMENT_WEBHOOK_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:payment-webhook:2"),
];

/// How long one bootstrap may take under emulation, init included.
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((build, launcher)) = args.split_first().filter(|(_, l)| !l.is_empty()) else {
        eprintln!("usage: packaged-smoke BUILD_DIR LAUNCHER...");
        return std::process::ExitCode::from(2);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = server::template::Template::bundled();
    let mut failed = 0;
    for function in &template.functions {
        let bootstrap = Path::new(build).join(&function.logical_id).join("bootstrap");
        let event = event_for(&root, &function.binary);
        let verdict = run(&bootstrap, launcher, event, !function.routes.is_empty()).await;
        match &verdict {
            Ok(summary) => println!("ok   {:<20} {summary}", function.binary),
            Err(problem) => {
                failed += 1;
                println!("FAIL {:<20} {problem}", function.binary);
            }
        }
    }
    println!("{} passed, {failed} failed", template.functions.len() - failed);
    if failed == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}

/// The event a function's trigger sends: its own fixture, or the queue's or a schedule's.
fn event_for(root: &Path, binary: &str) -> Value {
    let name = match binary {
        "order-processor" => "process-order-events",
        "outbox-relay" | "payment-reconciler" | "daily-report" => "daily-report-scheduled",
        other => other,
    };
    let path = root.join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One invocation of `bootstrap` under `launcher`: what it answered, or what went wrong.
async fn run(bootstrap: &Path, launcher: &[String], event: Value, http: bool) -> Result<String, String> {
    if !bootstrap.is_file() {
        return Err(format!("no bootstrap at {}", bootstrap.display()));
    }
    let api = runtime::RuntimeApi::start().await.map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(&launcher[0])
        .args(&launcher[1..])
        .arg(bootstrap)
        .env_clear()
        .envs(ENVIRONMENT.iter().copied())
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", launcher[0]))?;
    let stderr = child.stderr.take();
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(ANSWER_WITHIN, api.invoke(event)) => outcome,
        status = child.wait() => {
            let mut text = String::new();
            if let Some(mut err) = stderr {
                use tokio::io::AsyncReadExt;
                let _ = err.read_to_string(&mut text).await;
            }
            let tail: String = text.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(format!("the bootstrap exited ({}) without answering: {tail}", describe(status)));
        }
    };
    let _ = child.kill().await;
    match outcome {
        Err(_) => Err(format!("no answer within {ANSWER_WITHIN:?}")),
        Ok(answer) => well_formed(answer, http),
    }
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match status.signal() {
            Some(4) => "SIGILL: an instruction this CPU does not have".into(),
            Some(signal) => format!("signal {signal}"),
            None => format!("exit code {:?}", status.code()),
        },
        Err(e) => e.to_string(),
    }
}

/// An HTTP function answers API Gateway's response with a JSON body, and an error in the
/// contract's shape (`error`, `code`); another function answers, or reports an error as the
/// runtime does (`errorType`, `errorMessage`).
fn well_formed(answer: runtime::Outcome, http: bool) -> Result<String, String> {
    match (answer, http) {
        (Ok(response), true) => {
            let status = response["statusCode"].as_u64().ok_or(format!("no statusCode: {response}"))?;
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap_or_default())
                .map_err(|_| format!("a body that is not JSON: {response}"))?;
            if status >= 400 && !(body["error"].is_string() && body["code"].is_string()) {
                return Err(format!("{status} not in the contract's error shape: {body}"));
            }
            Ok(format!("{status} {}", body["code"].as_str().unwrap_or("")))
        }
        (Ok(response), false) => Ok(format!("answered {}", truncate(&response.to_string()))),
        (Err(report), http) => {
            let report: Value =
                serde_json::from_str(&report).map_err(|_| format!("a malformed error report: {report}"))?;
            match (report["errorType"].as_str(), report["errorMessage"].as_str()) {
                (Some(kind), Some(_)) if !http => Ok(format!("reported {kind} (it needs AWS)")),
                _ => Err(format!("an error where a response was due: {report}")),
            }
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::well_formed;

    #[test]
    fn an_http_error_must_have_the_contracts_shape() {
        let ok = json!({"statusCode": 500, "body": r#"{"error":"internal error","code":"INTERNAL","details":[]}"#});
        assert!(well_formed(Ok(ok), true).is_ok());
        let bare = json!({"statusCode": 500, "body": r#"{"message":"boom"}"#});
        assert!(well_formed(Ok(bare), true).is_err());
        assert!(well_formed(Ok(json!({"statusCode": 200, "body": "<html>"})), true).is_err());
    }

    #[test]
    fn only_a_function_off_the_api_may_report_an_error() {
        let report = r#"{"errorType":"INTERNAL","errorMessage":"no AWS here"}"#.to_owned();
        assert!(well_formed(Err(report.clone()), false).is_ok());
        assert!(well_formed(Err(report), true).is_err());
        assert!(well_formed(Err("Segmentation fault".into()), false).is_err());
    }
}
