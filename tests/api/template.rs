//! `template.yaml` and the code agree: routes, functions, and the table's key schema.

use std::collections::BTreeSet;

use local::Template;
use platform::keys;

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
    let table = Template::bundled().table;
    let key = |elements: &[local::template::KeyElement]| -> Vec<(String, String)> {
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
