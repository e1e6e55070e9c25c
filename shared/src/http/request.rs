use lambda_http::{Request, RequestExt, http::header};
use serde::de::DeserializeOwned;

use crate::domain::{Caller, OrderId};
use crate::error::{Error, FieldProblem, Result};

/// The largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The caller, from the claims of the JWT that API Gateway's authorizer (or the local
/// platform) verified and placed in the request context.
pub fn caller(req: &Request) -> Result<Caller> {
    let claims = req
        .request_context_ref()
        .and_then(|ctx| ctx.authorizer())
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .map(|jwt| &jwt.claims)
        .ok_or(Error::Unauthorized)?;
    let caller = Caller::from_claims(claims.get("sub").map(String::as_str), claims.get("scope").map(String::as_str))?;
    tracing::Span::current().record("customer_id", caller.customer_id.as_str());
    Ok(caller)
}

/// The `{id}` path parameter as an order id; anything else is a 400, never a lookup.
pub fn path_order_id(req: &Request) -> Result<OrderId> {
    let id = OrderId::parse("id", path_param(req, "id"))?;
    crate::telemetry::about_order(&id);
    Ok(id)
}

/// A path parameter, empty when absent.
pub fn path_param<'r>(req: &'r Request, name: &str) -> &'r str {
    req.path_parameters_ref().and_then(|p| p.first(name)).unwrap_or_default()
}

/// A query string parameter.
pub fn query<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
}

/// The version an `If-Match` header expects (`3`, `"3"` or `W/"3"`); `*` expects none.
pub fn if_match(req: &Request) -> Result<Option<u64>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(None);
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    let tag = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
    match tag.parse::<u64>() {
        Ok(version) if tag.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(version)),
        _ => Err(Error::invalid("If-Match", "must be an order version such as \"3\"")),
    }
}

/// The JSON body as `T`: bounded in size, `application/json`, and every problem named by field.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T> {
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("body", "a JSON body is required"));
    }
    let media_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = media_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Error::UnsupportedMediaType);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let inner = err.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::invalid("body", "is not valid JSON");
        }
        let path = match err.path().to_string() {
            root if root == "." => String::new(),
            path => path,
        };
        Error::from(describe(&path, &inner.to_string()))
    })
}

/// Names the field and the problem of a serde error, without echoing what the client sent.
fn describe(path: &str, message: &str) -> FieldProblem {
    let message = message.split(" at line ").next().unwrap_or(message);
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next());
    let join = |name: &str| {
        if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
    };
    if let Some(name) = quoted("missing field `") {
        return FieldProblem::new(join(name), "is required");
    }
    if let Some(name) = quoted("unknown field `") {
        // The path already ends at the unknown field.
        let field = if path.is_empty() { name.chars().take(64).collect() } else { path.to_owned() };
        return FieldProblem::new(field, "is not a known field");
    }
    let field = if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    let expected = message.rsplit_once("expected ").map(|(_, e)| e).unwrap_or("a different value");
    FieldProblem::new(field, format!("must be {}", plain_type(expected)))
}

/// Rust's name for an expected type, in the words of a JSON API.
fn plain_type(expected: &str) -> String {
    let integer = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"];
    if integer.contains(&expected) {
        "an integer".to_owned()
    } else if let Some(tuple) = expected.strip_prefix("struct ") {
        format!("an object ({})", tuple.chars().take(40).collect::<String>())
    } else {
        expected.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_errors_become_field_problems_without_client_text() {
        let p = describe("items[0]", "missing field `quantity` at line 1 column 20");
        assert_eq!(p, FieldProblem::new("items[0].quantity", "is required"));
        let p = describe("", "unknown field `colour`, expected one of `items`, `currency`");
        assert_eq!(p, FieldProblem::new("colour", "is not a known field"));
        let p = describe("items[2].quantity", "invalid type: string \"<script>\", expected i64 at line 1 column 9");
        assert_eq!(p, FieldProblem::new("items[2].quantity", "must be an integer"));
        assert!(
            !describe("items", "invalid type: string \"<script>\", expected a sequence").problem.contains("script")
        );
    }
}
