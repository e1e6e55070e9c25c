//! `spawn_app()`: a table, queue and bucket of the test's own on the emulator, provisioned from
//! `template.yaml`, with every function's handler behind the same routing as API Gateway.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use aws_sdk_dynamodb::types::AttributeValue;
use local::Resources;
use local::provider_emulator::{EmulatorSettings, Webhook};
use platform::keys;
use platform::payment_provider::ProviderSettings;
use serde_json::Value;
use server::api_gateway::GatewayRequest;
use server::{App, Settings, Template};

pub struct TestApp {
    /// Every function, each signing as itself (the IAM gate judges its calls).
    pub app: App,
    /// Clients of the test's own, for arranging and inspecting state: no function's role.
    pub harness: server::Clients,
    pub resources: Resources,
    pub sdk: aws_config::SdkConfig,
    /// The test's own payment provider emulator.
    pub provider_url: String,
}

/// The provider emulator's key, and the secret its webhooks are signed with, in the tests.
pub const PROVIDER_KEY: &str = "sk_test_tests";
pub const WEBHOOK_SECRET: &str = "whsec_tests";
/// How long the adapter waits for the provider in the tests (`tok_timeout` answers after 2 s).
pub const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(400);

/// Stands up an isolated copy of the platform's resources and the production clients over them,
/// a payment provider emulator of its own, and the API on a loopback port for its webhooks.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the provider emulator configured by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut EmulatorSettings)) -> TestApp {
    capture_logs();
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts the emulator"
    );
    let sdk = platform::aws::load().await;
    let template = Template::bundled();
    let prefix = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let resources =
        local::provision(&sdk, &local::specs::Specs::bundled(), &prefix).await.expect("provisioning on the emulator");
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider_url = format!("http://127.0.0.1:{}", provider.local_addr().unwrap().port());
    let mut emulator = EmulatorSettings::new(PROVIDER_KEY);
    emulator.slow_answer = std::time::Duration::from_secs(2);
    emulator.refund_failure_delay = std::time::Duration::from_millis(200);
    let webhook_url = format!("http://127.0.0.1:{}/webhooks/payment-provider", api.local_addr().unwrap().port());
    emulator.webhook = Some(Webhook { url: webhook_url, secret: WEBHOOK_SECRET.into() });
    configure(&mut emulator);
    tokio::spawn(local::provider_emulator::serve(provider, emulator));
    let app = App::new(
        |binary| local::as_function(&sdk, binary, &resources),
        template,
        resources.names(),
        settings(&provider_url),
    );
    let harness = server::Clients::new(&sdk, resources.names(), &settings(&provider_url));
    let authorizer = std::sync::Arc::new(local::tokens::authorizer("test-jwt-secret"));
    let edge = server::edge::Edge::new(std::sync::Arc::new(app.clone()), authorizer);
    tokio::spawn(server::edge::serve(api, edge.with_routes(vec![local::report_route::route()])));
    TestApp { app, harness, resources, sdk, provider_url }
}

/// The settings every test's functions run with, calling the provider emulator at `provider_url`.
pub fn settings(provider_url: &str) -> Settings {
    Settings {
        cursor_secret: "test-cursor-secret".into(),
        rules: Default::default(),
        provider: ProviderSettings {
            base_url: provider_url.to_owned(),
            api_key: PROVIDER_KEY.into(),
            timeout: PROVIDER_TIMEOUT,
            limits: local::provider_emulator::limits(),
        },
        webhook_secret: WEBHOOK_SECRET.into(),
    }
}

/// Every log line this test process wrote so far, in the JSON format Lambda uses.
pub fn logs() -> Vec<Value> {
    let text = String::from_utf8(capture_logs().lock().unwrap().clone()).unwrap();
    text.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect()
}

/// Installs the process-wide subscriber once: it keeps every line for [`logs`], and shows them on
/// stderr too when `TEST_LOG` is set (silent otherwise). Process-wide, because tracing caches per
/// call site whether anyone listens, which races with a subscriber scoped to one test's thread.
fn capture_logs() -> &'static Mutex<Vec<u8>> {
    #[derive(Clone, Copy)]
    struct Writer;
    impl Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            capture_logs().lock().unwrap().extend_from_slice(bytes);
            if std::env::var_os("TEST_LOG").is_some() {
                std::io::stderr().write_all(bytes)?;
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static BYTES: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let subscriber =
            tracing_subscriber::fmt().json().with_target(false).without_time().with_writer(|| Writer).finish();
        tracing::subscriber::set_global_default(subscriber).expect("only the helpers install a subscriber");
        Mutex::default()
    })
}

/// A request on its way in, as a client would send it.
pub struct Call<'a> {
    app: &'a TestApp,
    request: GatewayRequest,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl TestApp {
    /// A request from the customer `alice`.
    pub fn request(&self, method: &str, path_and_query: &str) -> Call<'_> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let request = GatewayRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![("host".into(), "localhost".into())],
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        Call { app: self, request }.customer("alice")
    }

    /// Creates an order for `customer` and returns its JSON.
    pub async fn create_order(&self, customer: &str) -> Value {
        let reply = self.request("POST", "/orders").customer(customer).json(&order_body()).send().await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body
    }

    /// A `CONFIRMED` order of `customer` (as the order processor leaves it), as JSON.
    pub async fn confirmed_order(&self, customer: &str) -> Value {
        let order = self.create_order(customer).await;
        self.force(order["orderId"].as_str().unwrap(), "status", AttributeValue::S("CONFIRMED".into())).await;
        order
    }

    /// `POST /payments` by `customer` for `amount` of an order, with a good card.
    pub async fn pay(&self, customer: &str, order_id: &str, amount: i64) -> Reply {
        let body = serde_json::json!({"orderId": order_id, "amount": amount, "currency": "USD", "source": "tok_visa"});
        self.request("POST", "/payments").customer(customer).json(&body).send().await
    }

    /// The stored items whose `pk` starts with `prefix`.
    pub async fn items_with_prefix(&self, prefix: &str) -> usize {
        let output = platform::aws::dynamodb(&self.sdk)
            .scan()
            .table_name(&self.resources.table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", AttributeValue::S(prefix.into()))
            .send()
            .await
            .unwrap();
        output.items.unwrap_or_default().len()
    }

    /// Feeds the test's queue to the order processor, as Lambda's event source would, until the
    /// queue is empty; returns every batch's response.
    pub async fn process_queue(&self) -> Vec<aws_lambda_events::sqs::SqsBatchResponse> {
        // Lambda's event source mapping, not the function's code, polls the queue: as the test.
        let sqs = platform::aws::sqs(&self.sdk);
        let mut responses = vec![];
        let receive = server::queue::Receive::default();
        while let Some(response) = server::queue::poll_once(
            &sqs,
            &self.resources.queue_url,
            &self.app.function("order-processor").processor,
            receive,
        )
        .await
        .unwrap()
        {
            responses.push(response);
        }
        responses
    }

    /// Every message waiting on the test's queue, parsed.
    pub async fn queued_events(&self) -> Vec<Value> {
        let sqs = platform::aws::sqs(&self.sdk);
        let mut events = vec![];
        loop {
            let output = sqs
                .receive_message()
                .queue_url(&self.resources.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                events.push(serde_json::from_str(message.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&self.resources.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// How many items the test's table holds.
    pub async fn item_count(&self) -> usize {
        let output = platform::aws::dynamodb(&self.sdk).scan().table_name(&self.resources.table).send().await.unwrap();
        output.items.unwrap_or_default().len()
    }

    /// The raw stored item of an order.
    pub async fn raw_order(&self, order_id: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.raw_item(order_key(order_id)).await
    }

    /// The raw stored item of a payment.
    pub async fn raw_payment(&self, payment_id: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.raw_item(keys::payment(&platform::domain::PaymentId::parse("id", payment_id).unwrap())).await
    }

    async fn raw_item(&self, key: keys::Key) -> std::collections::HashMap<String, AttributeValue> {
        platform::aws::dynamodb(&self.sdk)
            .get_item()
            .table_name(&self.resources.table)
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .send()
            .await
            .unwrap()
            .item
            .expect("the item exists")
    }

    /// Sets stored attributes directly, standing in for flows (payments) outside these routes.
    pub async fn force(&self, order_id: &str, attribute: &str, value: AttributeValue) {
        self.force_item(order_key(order_id), attribute, value).await;
    }

    /// Sets an attribute of any item directly (an index key, to make it due now).
    pub async fn force_item(&self, key: keys::Key, attribute: &str, value: AttributeValue) {
        platform::aws::dynamodb(&self.sdk)
            .update_item()
            .table_name(&self.resources.table)
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .unwrap();
    }
}

impl TestApp {
    /// Runs the payment reconciler as its schedule would, `later_ms` from now.
    pub async fn reconcile(&self, later_ms: i64) -> platform::cashier::Reconciled {
        let at = platform::domain::Timestamp::from_millis(platform::domain::Timestamp::now().millis() + later_ms);
        payment_reconciler::handle(&self.app.function("payment-reconciler").payments, at).await.unwrap()
    }

    /// Makes every idempotency claim's lock expired, as time would after a request died.
    pub async fn expire_idempotency_locks(&self) {
        let db = platform::aws::dynamodb(&self.sdk);
        let items = db
            .scan()
            .table_name(&self.resources.table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", AttributeValue::S("IDEMPOTENCY#".into()))
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        for item in items {
            db.update_item()
                .table_name(&self.resources.table)
                .key(keys::PK, item[keys::PK].clone())
                .key(keys::SK, item[keys::SK].clone())
                .update_expression("SET lockedUntil = :zero")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .send()
                .await
                .unwrap();
        }
    }
}

impl Call<'_> {
    /// Authenticated as `sub`, without admin scope.
    pub fn customer(mut self, sub: &str) -> Self {
        self.request.claims = Some(BTreeMap::from([("sub".into(), sub.into()), ("scope".into(), "orders".into())]));
        self
    }

    /// Authenticated as an operator with `orders:admin`.
    pub fn admin(mut self) -> Self {
        self.request.claims =
            Some(BTreeMap::from([("sub".into(), "ops".into()), ("scope".into(), "orders orders:admin".into())]));
        self
    }

    /// No verified token at all.
    pub fn anonymous(mut self) -> Self {
        self.request.claims = None;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    pub fn json(self, value: &Value) -> Self {
        self.raw(value.to_string().as_bytes(), "application/json")
    }

    pub fn raw(mut self, body: &[u8], content_type: &str) -> Self {
        self.request.body = body.to_vec();
        self.header("content-type", content_type)
    }

    /// The request as the function receives it, for calling a handler directly.
    pub fn into_lambda(self) -> lambda_http::Request {
        self.request.into_request()
    }

    pub async fn send(self) -> Reply {
        let response = self.app.app.handle(self.request).await;
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = body.as_ref();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(bytes).expect("responses are JSON") };
        Reply { status: parts.status.as_u16(), headers: parts.headers, body }
    }
}

impl Reply {
    /// Asserts an error response in the contract's shape and returns its code.
    pub fn error_code(&self) -> &str {
        assert!(self.body["error"].is_string(), "no error message in {self:?}");
        assert!(self.body["details"].is_array(), "no details in {self:?}");
        self.body["code"].as_str().expect("an error code")
    }
}

/// The key of the order item with this id.
fn order_key(order_id: &str) -> keys::Key {
    keys::order(&platform::domain::OrderId::parse("orderId", order_id).expect("an order id"))
}

/// A valid order body: two lines, 2 x 1250 + 1 x 99 = 2599 cents.
pub fn order_body() -> Value {
    serde_json::json!({
        "currency": "USD",
        "items": [
            {"sku": "SKU-1", "quantity": 2, "unitPrice": 1250},
            {"sku": "SKU-2", "quantity": 1, "unitPrice": 99}
        ]
    })
}
