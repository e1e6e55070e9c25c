//! `openapi.yaml` and the code agree on routes, limits and enumerations. (Response shapes are
//! checked against the document by schemathesis, in `tests/e2e/test_openapi.py`.)

use std::collections::BTreeSet;

use platform::domain::{PaymentStatus, RefundStatus};
use serde_yaml::Value;
use server::Template;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value.as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_document_has_exactly_the_templates_routes() {
    let document = document();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.insert(format!("{} {}", method.to_uppercase(), path.as_str().unwrap()));
            }
        }
    }
    let deployed: BTreeSet<String> = Template::bundled()
        .functions
        .iter()
        .flat_map(|f| f.routes.iter().map(|r| format!("{} {}", r.method, r.path)))
        .collect();
    assert_eq!(documented, deployed);
}

#[test]
fn the_document_uses_the_codes_limits_and_enumerations() {
    let schemas = &document()["components"]["schemas"];
    let currencies: BTreeSet<String> = platform::domain::Currency::all().map(str::to_owned).collect();
    assert_eq!(strings(&schemas["Currency"]["enum"]), currencies);
    let statuses: BTreeSet<String> = platform::domain::OrderStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(strings(&schemas["OrderStatus"]["enum"]), statuses);

    let item = &schemas["LineItem"]["properties"];
    assert_eq!(item["quantity"]["maximum"].as_i64(), Some(platform::domain::MAX_QUANTITY));
    assert_eq!(item["unitPrice"]["maximum"].as_i64(), Some(platform::domain::MAX_UNIT_PRICE));
    assert_eq!(schemas["Items"]["maxItems"].as_u64(), Some(platform::domain::MAX_ITEMS as u64));
    assert_eq!(schemas["Amount"]["maximum"].as_i64(), Some(platform::domain::MAX_AMOUNT));
    assert_eq!(schemas["Sku"]["maxLength"].as_u64(), Some(platform::domain::Sku::MAX_LEN as u64));
    assert_eq!(schemas["CustomerId"]["maxLength"].as_u64(), Some(platform::domain::CustomerId::MAX_LEN as u64));
    let codes: BTreeSet<String> = strings(&schemas["Error"]["properties"]["code"]["enum"]);
    assert!(codes.contains("IDEMPOTENCY_KEY_REUSED") && codes.contains("CONCURRENT_CHANGE") && codes.len() == 12);
    let payment_statuses: BTreeSet<String> = [PaymentStatus::Pending, PaymentStatus::Captured, PaymentStatus::Failed]
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(strings(&schemas["PaymentStatus"]["enum"]), payment_statuses);
    let refund_statuses: BTreeSet<String> = [RefundStatus::Pending, RefundStatus::Succeeded, RefundStatus::Failed]
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(strings(&schemas["RefundStatus"]["enum"]), refund_statuses);
    assert_eq!(
        schemas["Payment"]["properties"]["refunds"]["maxItems"].as_i64(),
        Some(platform::store::MAX_REFUNDS_PER_PAYMENT)
    );
}
