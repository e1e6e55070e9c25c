//! `template.yaml` and the code agree: routes, functions, and the table's key schema.

use std::collections::BTreeSet;

use platform::keys;
use server::Template;

/// Every route of the contract, and the binary that serves it.
const ROUTES: [(&str, &str, &str); 9] = [
    ("POST", "/orders", "orders-create"),
    ("GET", "/orders/{id}", "orders-get"),
    ("GET", "/orders", "orders-list"),
    ("PUT", "/orders/{id}", "orders-update"),
    ("DELETE", "/orders/{id}", "orders-cancel"),
    ("POST", "/payments", "payments-create"),
    ("GET", "/payments/{id}", "payments-get"),
    ("POST", "/payments/{id}/refund", "payments-refund"),
    ("POST", "/webhooks/payment-provider", "payment-webhook"),
];

#[test]
fn every_route_maps_to_the_function_that_serves_it() {
    let template = Template::bundled();
    for (method, path, binary) in ROUTES {
        let function = template.function_for(method, path).unwrap_or_else(|| panic!("{method} {path} is not routed"));
        assert_eq!(function.binary, binary, "{method} {path}");
    }
    let routed: usize = template.functions.iter().map(|f| f.routes.len()).sum();
    assert_eq!(routed, ROUTES.len(), "the template routes something the contract does not list");
}

#[test]
fn every_function_crate_is_deployed_by_the_template_and_vice_versa() {
    let functions_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let crates: BTreeSet<String> = std::fs::read_dir(functions_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let deployed: BTreeSet<String> = Template::bundled().functions.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(crates, deployed);
}

#[test]
fn the_tables_keys_and_indexes_are_the_key_schema_modules() {
    let table = local::specs::Specs::bundled().table;
    let key = |elements: &[local::specs::KeyElement]| -> Vec<(String, String)> {
        elements.iter().map(|k| (k.attribute_name.clone(), k.key_type.clone())).collect()
    };
    let pair = |pk: &str, sk: &str| vec![(pk.to_owned(), "HASH".to_owned()), (sk.to_owned(), "RANGE".to_owned())];

    assert_eq!(key(&table.key_schema), pair(keys::PK, keys::SK));
    let indexes: Vec<_> =
        table.global_secondary_indexes.iter().map(|i| (i.index_name.clone(), key(&i.key_schema))).collect();
    let expected: Vec<_> = keys::INDEXES.iter().map(|i| (i.name.to_owned(), pair(i.pk, i.sk))).collect();
    assert_eq!(indexes, expected);
    assert!(table.attribute_definitions.iter().all(|a| a.attribute_type == "S"));
    let ttl = table.time_to_live_specification.expect("TTL is enabled");
    assert_eq!((ttl.attribute_name.as_str(), ttl.enabled), (keys::TTL_ATTRIBUTE, true));
}

fn resources() -> serde_yaml::Mapping {
    let template: serde_yaml::Value = serde_yaml::from_str(server::template::TEMPLATE_YAML).unwrap();
    template["Resources"].as_mapping().unwrap().clone()
}

pub(crate) fn tagged(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::Tagged(t) => format!("{} {}", t.tag, t.value.as_str().unwrap_or_default()),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

#[test]
fn the_alarm_topic_is_encrypted_with_a_key_that_lets_cloudwatch_publish() {
    let resources = resources();
    let topic = &resources["AlarmTopic"]["Properties"];
    assert_eq!(tagged(&topic["KmsMasterKeyId"]), "!Ref AlarmTopicKey", "not the AWS-managed key CloudWatch cannot use");
    let key = &resources["AlarmTopicKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    let statements = key["Properties"]["KeyPolicy"]["Statement"].as_sequence().unwrap();
    let cloudwatch = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com" && s["Effect"] == "Allow")
        .expect("a statement for CloudWatch");
    let actions: BTreeSet<&str> =
        cloudwatch["Action"].as_sequence().unwrap().iter().filter_map(|a| a.as_str()).collect();
    assert!(actions.contains("kms:GenerateDataKey*") && actions.contains("kms:Decrypt"), "{actions:?}");
}

#[test]
fn every_function_reaches_table_items_only_under_leading_keys_conditions() {
    for (id, resource) in resources() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let on_items = tagged(&statement["Resource"]) == "!GetAtt OrdersTable.Arn";
                let leading = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                assert!(!on_items || leading.is_sequence(), "{}: {:?}", id.as_str().unwrap(), statement["Action"]);
            }
        }
    }
}

#[test]
fn queue_consumers_schedules_api_and_bucket_have_their_guards() {
    let resources = resources();
    let processor = &resources["OrderProcessorFunction"]["Properties"]["Events"]["Queue"]["Properties"];
    assert!(processor["ScalingConfig"]["MaximumConcurrency"].as_u64().is_some_and(|n| n >= 2));
    for (id, resource) in &resources {
        for event in resource["Properties"]["Events"].as_mapping().into_iter().flat_map(|e| e.values()) {
            if event["Type"] == "Schedule" {
                // An event the schedule could not deliver, and a run that failed its retries, both
                // land in the failed-runs queue.
                assert_eq!(
                    tagged(&event["Properties"]["DeadLetterConfig"]["Arn"]),
                    "!GetAtt FailedRunsQueue.Arn",
                    "{id:?}: an undelivered run must land somewhere"
                );
                assert_eq!(
                    tagged(&resource["Properties"]["DeadLetterQueue"]["TargetArn"]),
                    "!GetAtt FailedRunsQueue.Arn",
                    "{id:?}: a failed run must land somewhere"
                );
            }
        }
    }
    let api = &resources["HttpApi"]["Properties"];
    assert_eq!(tagged(&api["AccessLogSettings"]["DestinationArn"]), "!GetAtt ApiAccessLogs.Arn");
    let bucket_policy = &resources["ExportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (bucket_policy["Effect"].as_str(), bucket_policy["Condition"]["Bool"]["aws:SecureTransport"].as_str()),
        (Some("Deny"), Some("false"))
    );
    let list_env = &resources["OrdersListFunction"]["Properties"]["Environment"]["Variables"];
    assert!(
        list_env.get("CURSOR_SECRET").is_none(),
        "the cursor secret is read at init, never resolved into the environment"
    );
}
