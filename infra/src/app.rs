//! Every function of the platform in one process: API Gateway's routing from `template.yaml`,
//! then the function's own handler, called in-process with the clients built once.

use lambda_http::{Body, Response, http::StatusCode};
use platform::cursor::CursorSigner;
use platform::events::EventPublisher;
use platform::store::OrderStore;

use crate::gateway::{GatewayRequest, match_route};
use crate::template::Template;

/// The functions' clients, as each function's `main` builds them in AWS.
#[derive(Debug, Clone)]
pub struct App {
    pub template: Template,
    pub store: OrderStore,
    pub events: EventPublisher,
    pub cursors: CursorSigner,
}

impl App {
    /// Routes a request like API Gateway and runs the function that serves it. `request.route`
    /// and `request.path_parameters` are filled from the matching route.
    pub async fn handle(&self, mut request: GatewayRequest) -> Response<Body> {
        let found = self.template.functions.iter().find_map(|function| {
            function.routes.iter().find_map(|route| {
                let params =
                    (route.method == request.method).then(|| match_route(&route.path, &request.path)).flatten()?;
                Some((function.binary.clone(), route.path.clone(), params))
            })
        });
        let Some((binary, route, params)) = found else {
            return gateway_not_found();
        };
        request.route = route;
        request.path_parameters = params;
        self.call(&binary, request).await.unwrap_or_else(gateway_not_found)
    }

    /// Runs the handler of the function built as `binary`; `None` for a binary this build lacks.
    pub async fn call(&self, binary: &str, request: GatewayRequest) -> Option<Response<Body>> {
        let req = request.into_request();
        Some(match binary {
            "orders-create" => orders_create::handle(&self.store, &self.events, req).await,
            "orders-get" => orders_get::handle(&self.store, req).await,
            "orders-list" => orders_list::handle(&self.store, &self.cursors, req).await,
            "orders-update" => orders_update::handle(&self.store, &self.events, req).await,
            "orders-cancel" => orders_cancel::handle(&self.store, &self.events, req).await,
            _ => return None,
        })
    }
}

/// What API Gateway answers for a path no route matches.
fn gateway_not_found() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header("content-type", "application/json")
        .body(Body::Text(r#"{"message":"Not Found"}"#.into()))
        .expect("static response")
}
