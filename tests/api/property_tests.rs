//! Arbitrary requests through API Gateway's routing into every handler, against the emulator:
//! never a 5xx, and every error in the contract's shape. `PROPTEST_CASES` raises the count.

use proptest::prelude::*;

use crate::helpers::spawn_app;

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")]
}

fn path() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        Just("0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10".to_owned()),
        "[0-9a-f-]{0,40}",
        "[%#/.A-Za-z0-9]{0,20}",
    ];
    (prop_oneof![Just("orders"), Just("payments")], proptest::option::of(id), any::<bool>()).prop_map(
        |(root, id, refund)| match (id, refund) {
            (Some(id), true) => format!("/{root}/{id}/refund"),
            (Some(id), false) => format!("/{root}/{id}"),
            (None, _) => format!("/{root}"),
        },
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        Just(br#"{"currency":"USD","items":[{"sku":"A","quantity":1,"unitPrice":1}]}"#.to_vec()),
        r#"\{"(orderId|amount|currency|source|items|reason)": ?(-?[0-9]{1,25}|"[^"]{0,10}"|null|\[\]|\{\})\}"#
            .prop_map(String::into_bytes),
    ]
}

#[test]
fn arbitrary_requests_never_produce_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        method in method(),
        path in path(),
        query in "(customerId=[a-z#%]{0,6}&)?(limit=-?[0-9a-z]{0,4}&)?(cursor=[A-Za-z0-9._%-]{0,30})?",
        body in body(),
        content_type in prop_oneof![Just("application/json"), Just("text/plain"), Just("application/json; charset=utf-8")],
        key in proptest::option::of("[ -~]{0,300}"),
        if_match in proptest::option::of("[ -~]{0,12}"),
        admin in any::<bool>(),
    )| {
        let mut call = app.request(method, &format!("{path}?{query}")).raw(&body, content_type);
        if admin { call = call.admin(); }
        if let Some(key) = &key { call = call.header("idempotency-key", key); }
        if let Some(tag) = &if_match { call = call.header("if-match", tag); }

        let reply = runtime.block_on(call.send());

        prop_assert!(reply.status < 500, "{method} {path}?{query}: {reply:?}");
        if reply.status >= 400 && reply.body.get("message").is_none() {
            prop_assert!(reply.body["code"].is_string() && reply.body["details"].is_array(), "{reply:?}");
        }
    });
}
