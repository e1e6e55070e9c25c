//! IAM matches the code: each function's policies in `template.yaml` grant exactly the AWS
//! actions its code can call, on the resources it calls them on. A function granted less than it
//! calls fails in AWS; one granted more breaks least privilege. Either fails here.
//!
//! Two tables: which AWS action (and resource) each client method calls, and which client
//! methods each function calls. `method!` names a method by path, so a renamed or removed one
//! stops this file from compiling rather than leaving a stale row.

use std::collections::{BTreeMap, BTreeSet};

use platform::events::EventPublisher;
use platform::exports::{ExportSink, S3Exports};
use platform::store::{IdempotencyStore, OrderStore, PaymentStore};
use release_check::{CodeDeploy, Invoker, LambdaInvoker, Verdicts};
use serde_yaml::Value;

/// `"Type::method"`, checked to exist.
macro_rules! method {
    ($ty:ident :: $method:ident) => {{
        let _ = $ty::$method;
        concat!(stringify!($ty), "::", stringify!($method))
    }};
}

/// An action on a resource, as a policy grants it: `dynamodb:Query on table/index/gsi1`.
type Grant = (String, String);

fn grant(action: &str, resource: &str) -> Grant {
    (action.to_owned(), resource.to_owned())
}

/// What each client method calls in AWS. A transaction needs the actions of its writes
/// (`dynamodb:TransactWriteItems` is not an IAM action); a multipart upload needs `s3:PutObject`
/// for every step but the abort.
fn calls() -> BTreeMap<&'static str, Vec<Grant>> {
    let table = "table";
    let bucket = "bucket/reports/*";
    BTreeMap::from([
        (method!(OrderStore::create), vec![grant("dynamodb:PutItem", table)]),
        (method!(OrderStore::get), vec![grant("dynamodb:GetItem", table)]),
        (method!(OrderStore::list), vec![grant("dynamodb:Query", "table/index/gsi1")]),
        (method!(OrderStore::update_lines), vec![grant("dynamodb:UpdateItem", table)]),
        (method!(OrderStore::cancel), vec![grant("dynamodb:UpdateItem", table)]),
        (method!(OrderStore::decide), vec![grant("dynamodb:UpdateItem", table)]),
        (method!(OrderStore::day_page), vec![grant("dynamodb:Query", "table/index/gsi2")]),
        (method!(OrderStore::pending_orders), vec![grant("dynamodb:Query", "table/index/gsi4")]),
        (method!(OrderStore::stranded_outboxes), vec![grant("dynamodb:Query", "table/index/gsi3")]),
        (method!(OrderStore::with_outbox), vec![grant("dynamodb:GetItem", table)]),
        (method!(OrderStore::clear_outbox), vec![grant("dynamodb:UpdateItem", table)]),
        (method!(PaymentStore::get), vec![grant("dynamodb:Query", table)]),
        (method!(PaymentStore::begin), vec![grant("dynamodb:PutItem", table), grant("dynamodb:UpdateItem", table)]),
        (method!(PaymentStore::settle), vec![grant("dynamodb:PutItem", table), grant("dynamodb:UpdateItem", table)]),
        (
            method!(PaymentStore::begin_refund),
            vec![grant("dynamodb:PutItem", table), grant("dynamodb:UpdateItem", table)],
        ),
        (method!(PaymentStore::note_provider_refund), vec![grant("dynamodb:UpdateItem", table)]),
        (
            method!(PaymentStore::settle_refund),
            vec![grant("dynamodb:PutItem", table), grant("dynamodb:UpdateItem", table)],
        ),
        (method!(PaymentStore::ledger_page), vec![grant("dynamodb:Query", table)]),
        (method!(PaymentStore::pending_since), vec![grant("dynamodb:Query", "table/index/gsi3")]),
        (method!(PaymentStore::count_attempt), vec![grant("dynamodb:UpdateItem", table)]),
        ("aws::secret(provider key)", vec![grant("secretsmanager:GetSecretValue", "PaymentProviderKeySecret")]),
        ("aws::secret(webhook secret)", vec![grant("secretsmanager:GetSecretValue", "PaymentWebhookSecret")]),
        ("aws::secret(cursor secret)", vec![grant("secretsmanager:GetSecretValue", "CursorSecret")]),
        (method!(IdempotencyStore::claim), vec![grant("dynamodb:PutItem", table)]),
        (method!(IdempotencyStore::complete), vec![grant("dynamodb:UpdateItem", table)]),
        (method!(IdempotencyStore::release), vec![grant("dynamodb:DeleteItem", table)]),
        (method!(EventPublisher::publish), vec![grant("sqs:SendMessage", "queue")]),
        (method!(S3Exports::put_object), vec![grant("s3:PutObject", bucket)]),
        (method!(S3Exports::create_upload), vec![grant("s3:PutObject", bucket)]),
        (method!(S3Exports::upload_part), vec![grant("s3:PutObject", bucket)]),
        (method!(S3Exports::complete_upload), vec![grant("s3:PutObject", bucket)]),
        (method!(S3Exports::abort_upload), vec![grant("s3:AbortMultipartUpload", bucket)]),
        (
            method!(LambdaInvoker::invoke),
            release_check::PROBES
                .iter()
                .map(|p| grant("lambda:InvokeFunction", &format!("version:{}", p.function)))
                .collect(),
        ),
        (
            method!(CodeDeploy::report),
            vec![grant("codedeploy:PutLifecycleEventHookExecutionStatus", "deployment groups")],
        ),
    ])
}

/// What each function's code calls: its handler, and what `http::idempotent` and
/// `outbox::deliver` call on its behalf.
fn functions() -> BTreeMap<&'static str, Vec<&'static str>> {
    let idempotent =
        [method!(IdempotencyStore::claim), method!(IdempotencyStore::complete), method!(IdempotencyStore::release)];
    let deliver = [method!(EventPublisher::publish), method!(OrderStore::clear_outbox)];
    // `PaymentDeps::charge`, `refund`, `settle`, `settle_refund`: what settling money calls.
    let settle = [
        "aws::secret(provider key)",
        method!(PaymentStore::get),
        method!(PaymentStore::settle),
        method!(PaymentStore::settle_refund),
        method!(PaymentStore::note_provider_refund),
    ];
    let with = |own: &[&'static str], shared: &[&[&'static str]]| -> Vec<&'static str> {
        own.iter().copied().chain(shared.iter().flat_map(|s| s.iter().copied())).collect()
    };
    BTreeMap::from([
        ("orders-create", with(&[method!(OrderStore::create)], &[&idempotent, &deliver])),
        ("orders-get", vec![method!(OrderStore::get)]),
        ("orders-list", vec![method!(OrderStore::list), "aws::secret(cursor secret)"]),
        ("orders-update", with(&[method!(OrderStore::update_lines)], &[&deliver])),
        ("orders-cancel", with(&[method!(OrderStore::cancel)], &[&deliver])),
        (
            "payments-create",
            with(&[method!(OrderStore::get), method!(PaymentStore::begin)], &[&idempotent, &deliver, &settle]),
        ),
        ("payments-get", vec![method!(PaymentStore::get)]),
        ("payments-refund", with(&[method!(PaymentStore::begin_refund)], &[&idempotent, &deliver, &settle])),
        ("payment-webhook", with(&["aws::secret(webhook secret)"], &[&deliver, &settle])),
        (
            "payment-reconciler",
            with(&[method!(PaymentStore::pending_since), method!(PaymentStore::count_attempt)], &[&deliver, &settle]),
        ),
        ("order-processor", vec![method!(OrderStore::get), method!(OrderStore::decide)]),
        (
            "outbox-relay",
            with(
                &[
                    method!(OrderStore::stranded_outboxes),
                    method!(OrderStore::with_outbox),
                    // The sweeper: `processing::decide` reads and decides.
                    method!(OrderStore::pending_orders),
                    method!(OrderStore::get),
                    method!(OrderStore::decide),
                ],
                &[&deliver],
            ),
        ),
        ("release-check", vec![method!(LambdaInvoker::invoke), method!(CodeDeploy::report)]),
        (
            "daily-report",
            vec![
                method!(OrderStore::day_page),
                method!(PaymentStore::ledger_page),
                "aws::secret(provider key)",
                method!(S3Exports::put_object),
                method!(S3Exports::create_upload),
                method!(S3Exports::upload_part),
                method!(S3Exports::complete_upload),
                method!(S3Exports::abort_upload),
            ],
        ),
    ])
}

/// The resources a policy statement names (one, or a list), in the words of [`calls`]; `binary`
/// gives the binary of a function by its logical id.
fn resources(value: &Value, binary: &impl Fn(&str) -> String) -> Vec<String> {
    match value {
        Value::Sequence(values) => values.iter().map(|v| resource(v, binary)).collect(),
        one => vec![resource(one, binary)],
    }
}

fn resource(value: &Value, binary: &impl Fn(&str) -> String) -> String {
    let text = match value {
        Value::Tagged(tagged) => match &tagged.value {
            Value::String(s) => format!("{}:{s}", tagged.tag),
            other => format!("{}:{other:?}", tagged.tag),
        },
        other => format!("{other:?}"),
    };
    match text.as_str() {
        "!GetAtt:OrdersTable.Arn" => "table".to_owned(),
        "!Ref:PaymentProviderKeySecret" => "PaymentProviderKeySecret".to_owned(),
        "!Ref:PaymentWebhookSecret" => "PaymentWebhookSecret".to_owned(),
        "!Ref:CursorSecret" => "CursorSecret".to_owned(),
        "!Sub:${ExportsBucket.Arn}/reports/*" => "bucket/reports/*".to_owned(),
        "!Sub:arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${ServerlessDeploymentApplication}/*" => {
            "deployment groups".to_owned()
        }
        _ => {
            if let Some(index) = text.strip_prefix("!Sub:${OrdersTable.Arn}/index/") {
                format!("table/index/{index}")
            } else if let Some(function) = text.strip_prefix("!Ref:").and_then(|t| t.strip_suffix(".Version")) {
                format!("version:{}", binary(function))
            } else {
                panic!("a policy names a resource this test does not know: {text}")
            }
        }
    }
}

/// The AWS data-plane actions each function of the template is granted, by binary.
fn granted() -> BTreeMap<String, BTreeSet<Grant>> {
    let template: Value = serde_yaml::from_str(server::template::TEMPLATE_YAML).unwrap();
    let binary_of = |logical: &str| -> String {
        template["Resources"][logical]["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned()
    };
    let mut granted = BTreeMap::new();
    for resource_def in template["Resources"].as_mapping().unwrap().values() {
        if resource_def["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource_def["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let mut grants = BTreeSet::new();
        for policy in resource_def["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            if policy.get("SQSSendMessagePolicy").is_some() {
                grants.insert(grant("sqs:SendMessage", "queue"));
            }
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                assert_eq!(statement["Effect"], "Allow", "{binary}");
                for action in statement["Action"].as_sequence().unwrap() {
                    for resource in resources(&statement["Resource"], &binary_of) {
                        grants.insert(grant(action.as_str().unwrap(), &resource));
                    }
                }
            }
        }
        granted.insert(binary, grants);
    }
    granted
}

#[test]
fn every_function_is_granted_exactly_the_aws_actions_its_code_calls() {
    let calls = calls();
    let granted = granted();
    let functions = functions();
    assert_eq!(
        granted.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        functions.keys().copied().collect::<BTreeSet<_>>(),
        "this test lists a function the template does not deploy, or misses one"
    );
    for (binary, methods) in functions {
        let needed: BTreeSet<Grant> = methods.iter().flat_map(|m| calls[m].clone()).collect();
        let has = &granted[binary];
        let missing: Vec<_> = needed.difference(has).collect();
        let extra: Vec<_> = has.difference(&needed).collect();
        assert!(missing.is_empty(), "{binary} calls but is not granted {missing:?}");
        assert!(extra.is_empty(), "{binary} is granted but never calls {extra:?}");
    }
}
