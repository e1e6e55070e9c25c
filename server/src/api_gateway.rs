//! Builds the API Gateway HTTP API (payload 2.0) event for a request, and hands it to
//! `lambda_http`'s own deserializer: handlers see exactly what they see in AWS.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use lambda_http::Request;
use serde_json::{Value, json};

/// A request as it reaches API Gateway, with the claims its authorizer verified.
#[derive(Debug, Clone, Default)]
pub struct GatewayRequest {
    pub method: String,
    /// The route template that matched, such as `/orders/{id}`.
    pub route: String,
    /// The raw path, such as `/orders/0b6a…`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names and values; repeated names are joined with commas, as API Gateway does.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub path_parameters: BTreeMap<String, String>,
    /// `None` for a route without an authorizer.
    pub claims: Option<BTreeMap<String, String>>,
    pub request_id: String,
}

impl GatewayRequest {
    /// The payload 2.0 event API Gateway would send for this request.
    pub fn event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            let joined = match headers.get(&name).and_then(Value::as_str) {
                Some(previous) => format!("{previous},{value}"),
                None => value.clone(),
            };
            headers.insert(name, Value::String(joined));
        }
        let mut query = serde_json::Map::new();
        for (name, value) in form_pairs(&self.query) {
            let joined = match query.get(&name).and_then(Value::as_str) {
                Some(previous) => format!("{previous},{value}"),
                None => value,
            };
            query.insert(name, Value::String(joined));
        }
        let (body, encoded) = match std::str::from_utf8(&self.body) {
            _ if self.body.is_empty() => (Value::Null, false),
            Ok(text) => (Value::String(text.to_owned()), false),
            Err(_) => (Value::String(B64.encode(&self.body)), true),
        };
        let route_key = format!("{} {}", self.method, self.route);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut context = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::String(String::new())),
            },
            "requestId": self.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as i64,
        });
        if let Some(claims) = &self.claims {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": encoded,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = json!(self.path_parameters);
        }
        if !body.is_null() {
            event["body"] = body;
        }
        event
    }

    /// The request as `lambda_http` hands it to a handler.
    pub fn into_request(self) -> Request {
        lambda_http::request::from_str(&self.event().to_string()).expect("the event is a valid payload 2.0 event")
    }
}

/// Decodes `a=1&b=x%20y` the way API Gateway does for `queryStringParameters`.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Matches a raw path against a route template (`/orders/{id}`), returning its parameters.
pub fn match_route(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut parameters = BTreeMap::new();
    let mut expected = template.trim_matches('/').split('/');
    let mut actual = path.trim_matches('/').split('/');
    loop {
        match (expected.next(), actual.next()) {
            (None, None) => return Some(parameters),
            (Some(e), Some(a)) if e.starts_with('{') && e.ends_with('}') && !a.is_empty() => {
                parameters.insert(e[1..e.len() - 1].to_owned(), percent_decode_path(a));
            }
            (Some(e), Some(a)) if e == a => {}
            _ => return None,
        }
    }
}

fn percent_decode_path(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_and_capture_parameters() {
        assert_eq!(match_route("/orders", "/orders"), Some(BTreeMap::new()));
        let params = match_route("/orders/{id}", "/orders/abc%23x").unwrap();
        assert_eq!(params["id"], "abc#x");
        assert_eq!(match_route("/orders/{id}", "/orders"), None);
        assert_eq!(match_route("/orders/{id}", "/orders/a/b"), None);
        assert_eq!(match_route("/payments/{id}/refund", "/payments/p1/refund").unwrap()["id"], "p1");
    }

    #[test]
    fn query_strings_decode_like_api_gateway() {
        assert_eq!(
            form_pairs("a=1&b=x%20y+z&c"),
            [("a".into(), "1".into()), ("b".into(), "x y z".into()), ("c".into(), "".into())]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
