use lambda_http::{
    Body, Response,
    http::{StatusCode, header},
};
use serde::Serialize;

/// A JSON response.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(value).expect("response types always serialize");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("a status and one valid header")
}

/// `201 Created` with a `location`.
pub fn created(location: &str, value: &impl Serialize) -> Response<Body> {
    let mut response = json(StatusCode::CREATED, value);
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `202 Accepted` with a `location` to follow: the outcome is not known yet.
pub fn accepted(location: &str, value: &impl Serialize) -> Response<Body> {
    let mut response = created(location, value);
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}
