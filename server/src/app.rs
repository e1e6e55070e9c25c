//! Every function of the platform in one process: API Gateway's routing from `template.yaml`,
//! then the function's own handler, called in-process with the clients built once.

use std::collections::BTreeMap;

use lambda_http::{Body, Response, http::StatusCode};
use platform::cashier::Cashier;
use platform::domain::OrderRules;
use platform::events::EventPublisher;
use platform::exports::S3Exports;
use platform::payment_provider::{ProviderSettings, StripeProvider};
use platform::secret::Secret;
use platform::store::{IdempotencyStore, OrderStore, PaymentStore};

use crate::api_gateway::{GatewayRequest, match_route};
use crate::template::Template;

/// Every function of the template with its own clients.
#[derive(Debug, Clone)]
pub struct App {
    pub template: Template,
    functions: std::sync::Arc<BTreeMap<String, Clients>>,
}

/// One function's clients, as its `main` builds them in AWS: from its own SDK configuration, so
/// that every call it makes is signed as its own role (the local platform's IAM gate judges each
/// call by the function that made it; see `local/iam`).
#[derive(Debug, Clone)]
pub struct Clients {
    pub store: OrderStore,
    pub events: EventPublisher,
    pub idempotency: IdempotencyStore,
    pub cursor_key: Secret,
    pub payments: Cashier<StripeProvider>,
    pub webhook: payment_webhook::Webhook,
    pub processor: order_processor::Processor,
    pub report: daily_report::Report<S3Exports, StripeProvider>,
}

/// What the functions read from their environment in AWS, besides where their resources are.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cursor_secret: Secret,
    pub rules: OrderRules,
    /// The payment provider (the local emulator) and the key its webhooks are signed with.
    pub provider: ProviderSettings,
    pub webhook_secret: Secret,
}

/// Where the functions' resources are.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub table: &'a str,
    pub queue_url: &'a str,
    pub bucket: &'a str,
}

impl Clients {
    /// A function's clients over one table, queue and bucket, as `template.yaml` wires them.
    pub fn new(sdk: &aws_config::SdkConfig, names: Names<'_>, settings: &Settings) -> Self {
        let Names { table, queue_url, bucket } = names;
        let dynamodb = platform::aws::dynamodb(sdk);
        let store = OrderStore::new(dynamodb.clone(), table);
        let events = EventPublisher::new(platform::aws::sqs(sdk), queue_url);
        let idempotency = IdempotencyStore::new(dynamodb.clone(), table);
        let payments = Cashier {
            orders: store.clone(),
            payments: PaymentStore::new(dynamodb, table),
            idempotency: idempotency.clone(),
            events: events.clone(),
            provider: StripeProvider::new(settings.provider.clone()),
        };
        let webhook = payment_webhook::Webhook {
            cashier: payments.without_provider(),
            signing_secret: settings.webhook_secret.clone(),
        };
        let processor = order_processor::Processor { store: store.clone(), rules: settings.rules.clone() };
        let report = daily_report::Report {
            orders: store.clone(),
            payments: payments.payments.clone(),
            sink: S3Exports::new(platform::aws::s3(sdk), bucket),
            provider: payments.provider.clone(),
            page_size: Some(daily_report::PAGE_ITEMS),
            part_bytes: daily_report::PART_BYTES,
        };
        Self {
            store,
            events,
            idempotency,
            cursor_key: settings.cursor_secret.clone(),
            payments,
            webhook,
            processor,
            report,
        }
    }
}

impl App {
    /// Every function of the template, each with clients built from `sdk_of(binary)`: the same
    /// configuration for all in a container (its workload's role), one per function locally.
    pub fn new(
        sdk_of: impl Fn(&str) -> aws_config::SdkConfig,
        template: Template,
        names: Names<'_>,
        settings: Settings,
    ) -> Self {
        let functions = template
            .functions
            .iter()
            .map(|function| (function.binary.clone(), Clients::new(&sdk_of(&function.binary), names, &settings)))
            .collect();
        Self { template, functions: std::sync::Arc::new(functions) }
    }

    /// The clients of the function built as `binary`.
    ///
    /// # Panics
    /// For a binary `template.yaml` does not deploy: a caller's mistake, not an input's.
    pub fn function(&self, binary: &str) -> &Clients {
        self.functions.get(binary).unwrap_or_else(|| panic!("template.yaml deploys no function {binary}"))
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
    pub async fn handle(&self, request: GatewayRequest) -> Response<Body> {
        match self.route(&request.method, &request.path) {
            Some(routed) => self.serve(routed, request).await,
            None => api_gateway_not_found(),
        }
    }

    /// Runs the function API Gateway picked for a request (`routed`), with the route and path
    /// parameters it filled in.
    pub async fn serve(&self, routed: Routed, mut request: GatewayRequest) -> Response<Body> {
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
        let f = self.functions.get(binary)?;
        Some(match binary {
            "orders-create" => orders_create::handle(&f.store, &f.events, &f.idempotency, req).await,
            "orders-get" => orders_get::handle(&f.store, req).await,
            "orders-list" => orders_list::handle(&f.store, &f.cursor_key, req).await,
            "orders-update" => orders_update::handle(&f.store, &f.events, req).await,
            "orders-cancel" => orders_cancel::handle(&f.store, &f.events, req).await,
            "payments-create" => payments_create::handle(&f.payments, req).await,
            "payments-get" => payments_get::handle(&f.payments.payments, req).await,
            "payments-refund" => payments_refund::handle(&f.payments, req).await,
            "payment-webhook" => payment_webhook::handle(&f.webhook, req).await,
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
