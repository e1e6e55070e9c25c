//! Every function of the platform in one process: API Gateway's routing from `template.yaml`,
//! then the function's own handler, called in-process with the clients built once.

use lambda_http::{Body, Response, http::StatusCode};
use platform::cursor::CursorSigner;
use platform::domain::OrderRules;
use platform::events::EventPublisher;
use platform::exports::S3Exports;
use platform::payment_provider::{ProviderSettings, StripeProvider};
use platform::payments::PaymentDeps;
use platform::store::{IdempotencyStore, OrderStore, PaymentStore};

use crate::api_gateway::{GatewayRequest, match_route};
use crate::template::Template;

/// The functions' clients, as each function's `main` builds them in AWS.
#[derive(Debug, Clone)]
pub struct App {
    pub template: Template,
    pub store: OrderStore,
    pub events: EventPublisher,
    pub idempotency: IdempotencyStore,
    pub cursors: CursorSigner,
    pub payments: PaymentDeps<StripeProvider>,
    pub webhook: payment_webhook::Webhook<StripeProvider>,
    pub processor: order_processor::Processor,
    pub report: daily_report::Report<S3Exports, StripeProvider>,
}

/// What the functions read from their environment in AWS, besides where their resources are.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cursor_secret: String,
    pub rules: OrderRules,
    /// The payment provider (the local emulator) and the key its webhooks are signed with.
    pub provider: ProviderSettings,
    pub webhook_secret: String,
}

/// Where the functions' resources are.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub table: &'a str,
    pub queue_url: &'a str,
    pub bucket: &'a str,
}

impl App {
    /// Every function's clients over one table and queue, as `template.yaml` wires them.
    pub fn new(sdk: &aws_config::SdkConfig, template: Template, names: Names<'_>, settings: Settings) -> Self {
        let Names { table, queue_url, bucket } = names;
        let dynamodb = platform::aws::dynamodb(sdk);
        let store = OrderStore::new(dynamodb.clone(), table);
        let events = EventPublisher::new(platform::aws::sqs(sdk), queue_url);
        let idempotency = IdempotencyStore::new(dynamodb.clone(), table);
        let payments = PaymentDeps {
            orders: store.clone(),
            payments: PaymentStore::new(dynamodb, table),
            idempotency: idempotency.clone(),
            events: events.clone(),
            provider: StripeProvider::new(settings.provider),
        };
        let webhook = payment_webhook::Webhook { deps: payments.clone(), signing_secret: settings.webhook_secret };
        let processor = order_processor::Processor { store: store.clone(), rules: settings.rules };
        let report = daily_report::Report {
            orders: store.clone(),
            payments: payments.payments.clone(),
            sink: S3Exports::new(platform::aws::s3(sdk), bucket),
            provider: payments.provider.clone(),
            page_size: Some(daily_report::PAGE_ITEMS),
            part_bytes: daily_report::PART_BYTES,
        };
        Self {
            template,
            store,
            events,
            idempotency,
            cursors: CursorSigner::new(settings.cursor_secret),
            payments,
            webhook,
            processor,
            report,
        }
    }

    /// The function, route template and path parameters API Gateway would pick for a request,
    /// and whether the route needs a verified token.
    pub fn route(&self, method: &str, path: &str) -> Option<Routed> {
        self.template.functions.iter().find_map(|function| {
            function.routes.iter().find_map(|route| {
                let params = (route.method == method).then(|| match_route(&route.path, path)).flatten()?;
                Some(Routed {
                    binary: function.binary.clone(),
                    route: route.path.clone(),
                    params,
                    authorized: route.authorized,
                })
            })
        })
    }

    /// Routes a request like API Gateway and runs the function that serves it. `request.route`
    /// and `request.path_parameters` are filled from the matching route.
    pub async fn handle(&self, mut request: GatewayRequest) -> Response<Body> {
        let Some(routed) = self.route(&request.method, &request.path) else {
            return api_gateway_not_found();
        };
        request.route = routed.route;
        request.path_parameters = routed.params;
        self.call(&routed.binary, request).await.unwrap_or_else(api_gateway_not_found)
    }

    /// Runs the handler of the function built as `binary`; `None` for a binary this build lacks.
    pub async fn call(&self, binary: &str, request: GatewayRequest) -> Option<Response<Body>> {
        self.invoke(binary, request.into_request()).await
    }

    /// Runs an HTTP function's handler on a request as `lambda_http` hands it over.
    pub async fn invoke(&self, binary: &str, req: lambda_http::Request) -> Option<Response<Body>> {
        Some(match binary {
            "orders-create" => orders_create::handle(&self.store, &self.events, &self.idempotency, req).await,
            "orders-get" => orders_get::handle(&self.store, req).await,
            "orders-list" => orders_list::handle(&self.store, &self.cursors, req).await,
            "orders-update" => orders_update::handle(&self.store, &self.events, req).await,
            "orders-cancel" => orders_cancel::handle(&self.store, &self.events, req).await,
            "payments-create" => payments_create::handle(&self.payments, req).await,
            "payments-get" => payments_get::handle(&self.payments.payments, req).await,
            "payments-refund" => payments_refund::handle(&self.payments, req).await,
            "payment-webhook" => payment_webhook::handle(&self.webhook, req).await,
            _ => return None,
        })
    }
}

/// Where API Gateway sends a request.
#[derive(Debug, Clone)]
pub struct Routed {
    pub binary: String,
    pub route: String,
    pub params: std::collections::BTreeMap<String, String>,
    pub authorized: bool,
}

/// What API Gateway answers for a path no route matches.
pub fn api_gateway_not_found() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header("content-type", "application/json")
        .body(Body::Text(r#"{"message":"Not Found"}"#.into()))
        .expect("static response")
}
