//! The release check's probes (`functions/release-check`) through this build's own handlers: the
//! smoke check a Kubernetes release runs in the new image (`platform-server release-check`,
//! `infra/kubernetes/base/release.yaml`) before any client reaches it, as CodeDeploy's hook invokes
//! each new Lambda version directly. Like that hook, it skips the edge's JWT check: the probes
//! test the handlers, their settings and their role, not a client's token.

use lambda_http::Body;
use serde_json::{Value, json};

use crate::App;

/// Invokes a function's handler in this process, as Lambda invokes a function's version.
pub struct Handlers<'a>(pub &'a App);

impl release_check::Invoker for Handlers<'_> {
    async fn invoke(&self, function: &'static str, event: Value) -> Result<Value, String> {
        let request = lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())?;
        let response =
            self.0.invoke(function, request).await.ok_or_else(|| format!("this build has no function {function}"))?;
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Body::Empty => String::new(),
            _ => return Err(format!("{function} answered a body of an unknown kind")),
        };
        Ok(json!({"statusCode": response.status().as_u16(), "body": body}))
    }
}
