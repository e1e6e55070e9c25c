//! Property tests of the request edge: arbitrary bytes in any part of a request never panic and
//! never become a 5xx. Raise `PROPTEST_CASES` for a long run (see docs/testing.md).

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt, http::HeaderValue};
use proptest::prelude::*;

use super::*;
use crate::cursor::CursorSigner;
use crate::domain::LineItemInput;
use crate::error::Error;

fn request(
    body: Vec<u8>,
    content_type: Option<Vec<u8>>,
    if_match: Option<Vec<u8>>,
    id: String,
    query: String,
) -> Request {
    let mut req = Request::new(Body::Binary(body));
    if let Some(value) = content_type.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        req.headers_mut().insert("content-type", value);
    }
    if let Some(value) = if_match.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        req.headers_mut().insert("if-match", value);
    }
    req.with_path_parameters(HashMap::from([("id".to_owned(), id)]))
        .with_query_string_parameters(HashMap::from([("cursor".to_owned(), query)]))
}

fn client_error(err: &Error) -> bool {
    err.status().is_client_error()
}

/// The shape of an order body, as the create and update handlers parse it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrderBody {
    currency: String,
    items: Vec<LineItemInput>,
}

proptest! {
    #[test]
    fn arbitrary_requests_are_parsed_or_refused_with_a_4xx(
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        content_type in proptest::option::of(prop_oneof![Just(b"application/json".to_vec()), proptest::collection::vec(any::<u8>(), 0..40)]),
        if_match_header in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        id in ".{0,80}",
        cursor in ".{0,300}",
    ) {
        let req = request(body, content_type, if_match_header, id, cursor.clone());
        if let Err(err) = json_body::<OrderBody>(&req) { prop_assert!(client_error(&err), "{err:?}"); }
        if let Err(err) = path_order_id(&req) { prop_assert!(client_error(&err)); }
        if let Err(err) = if_match(&req) { prop_assert!(client_error(&err)); }
        if let Err(err) = caller(&req) { prop_assert!(client_error(&err)); }
        if let Err(err) = CursorSigner::new("k").decode(&cursor) { prop_assert!(client_error(&err)); }
    }

    #[test]
    fn arbitrary_json_order_bodies_are_parsed_or_refused_with_a_4xx(json in json_value(4)) {
        let mut req = Request::new(Body::Text(json.to_string()));
        req.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        match json_body::<OrderBody>(&req) {
            Ok(body) => if let Err(err) = crate::domain::Lines::parse(&body.currency, &body.items) {
                prop_assert!(client_error(&err));
            },
            Err(err) => prop_assert!(client_error(&err)),
        }
    }
}

/// Arbitrary JSON, biased towards the shape of an order.
fn json_value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)),
        ".{0,20}".prop_map(Into::into),
        prop_oneof![Just("USD"), Just("EUR"), Just("sku"), Just("quantity"), Just("unitPrice")].prop_map(Into::into),
    ];
    leaf.prop_recursive(depth, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Into::into),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("currency".to_owned()),
                    Just("items".to_owned()),
                    Just("sku".to_owned()),
                    Just("quantity".to_owned()),
                    Just("unitPrice".to_owned()),
                    ".{0,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
