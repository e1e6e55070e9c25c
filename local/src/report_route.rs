//! The local platform's own route, `POST /_local/report`: runs the daily report now, for
//! `{"date": "YYYY-MM-DD"}` or a backfill's `{"from", "to"}`. Admins only; it is not in
//! `template.yaml` (in AWS, invoke the function), and no deployed server has it.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use platform::Error;
use platform::domain::Timestamp;
use platform::http::{self, StatusCode};
use server::App;
use server::edge::ExtraRoute;

pub const PATH: &str = "/_local/report";

/// The route, to hand to the edge.
pub fn route() -> ExtraRoute {
    ExtraRoute { method: "POST", path: PATH, handler: Arc::new(|app, req| Box::pin(run(app, req))) }
}

async fn run(app: Arc<App>, req: Request) -> Response<Body> {
    http::respond(
        async {
            if !http::caller(&req)?.admin {
                return Err(Error::Forbidden("the report needs the orders:admin scope".into()));
            }
            let payload: serde_json::Value = http::json_body(&req)?;
            let summary =
                daily_report::handle(&app.function("daily-report").report, &payload, Timestamp::now()).await?;
            Ok(http::json(StatusCode::OK, &summary))
        }
        .await,
    )
}
