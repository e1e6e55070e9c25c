//! What each function is asked to do: realistic events over data seeded in the emulator.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use futures::stream::{self, StreamExt, TryStreamExt};
use local::provider_emulator::EmulatorSettings;
use platform::domain::{
    Caller, LineItemInput, Lines, Order, Payment, PaymentId, PaymentStatus, Refund, RefundId, Timestamp,
};
use platform::payment_provider::{
    Capture, ChargeOutcome, ChargeRequest, PaymentProvider, ProviderSettings, StripeProvider,
};
use platform::store::{OrderStore, PaymentSettlement, PaymentStore, RefundSettlement, StoredPayment};
use serde_json::{Value, json};
use server::api_gateway::GatewayRequest;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub(crate) const CUSTOMER: &str = "bench-customer";

/// One function's benchmark: the bootstrap, its cold event and its warm events.
pub struct Scenario {
    pub name: String,
    pub binary: String,
    pub cold: Value,
    pub warm: Vec<Value>,
    /// Work items per invocation (messages in a batch).
    pub units_per_invocation: usize,
}

/// The Node peer's table and an order in it.
pub struct PeerTable {
    pub table: String,
    pub order_id: String,
}

/// The emulator's resources and the seeded data the scenarios use.
pub struct World {
    resources: local::Resources,
    store: OrderStore,
    payments: PaymentStore,
    /// The payment provider emulator the payment functions call, and the adapter the seeding uses.
    provider_url: String,
    provider: StripeProvider,
    days_used: std::sync::atomic::AtomicU32,
    /// Where the functions send their spans (`--traces`); none, traces off.
    pub otlp: Option<String>,
}

/// Uses of one order or payment, below the platform's limits (25 changes of an order, 100 refunds
/// of a payment), so that every invocation does its work rather than meet a limit.
const USES_OF_AN_ORDER: usize = 20;
const USES_OF_A_PAYMENT: usize = 90;

/// The provider emulator's key in the bench.
const PROVIDER_KEY: &str = "sk_test_bench";

impl World {
    pub async fn new() -> Result<Self> {
        let sdk = platform::aws::load().await;
        let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let resources = local::provision(&sdk, &local::specs::Specs::bundled(), &prefix).await?;
        let store = OrderStore::new(platform::aws::dynamodb(&sdk), &resources.table);
        let payments = PaymentStore::new(platform::aws::dynamodb(&sdk), &resources.table);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let provider_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tokio::spawn(local::provider_emulator::serve(listener, EmulatorSettings::new(PROVIDER_KEY)));
        let provider = StripeProvider::new(ProviderSettings {
            base_url: provider_url.clone(),
            api_key: PROVIDER_KEY.into(),
            timeout: std::time::Duration::from_secs(5),
            limits: local::provider_emulator::limits(),
        });
        Ok(Self { resources, store, payments, provider_url, provider, days_used: Default::default(), otlp: None })
    }

    /// The environment Lambda and `template.yaml` give a function.
    pub fn lambda_env(&self, name: &str, runtime_api: SocketAddr) -> Vec<(String, String)> {
        let env = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let mut vars: Vec<(String, String)> = local::runtime_api::lambda_env(runtime_api, name, 256)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        vars.extend([
            env("ORDERS_TABLE", &self.resources.table),
            env("ORDER_QUEUE_URL", &self.resources.queue_url),
            env("EXPORTS_BUCKET", &self.resources.bucket),
            env("CURSOR_SECRET", "bench-cursor-secret"),
            env("PAYMENT_PROVIDER_URL", &self.provider_url),
            env("PAYMENT_PROVIDER_API_KEY", PROVIDER_KEY),
        ]);
        if let Some(endpoint) = &self.otlp {
            vars.push(env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        }
        // Only those set: an empty AWS_ENDPOINT_URL_DYNAMODB would be an endpoint of its own.
        for key in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
        ] {
            if let Ok(value) = std::env::var(key) {
                vars.push(env(key, &value));
            }
        }
        vars
    }

    pub async fn scenarios(&self, warm: usize) -> Result<Vec<Scenario>> {
        let caller = Caller::from_claims(Some(CUSTOMER), None)?;
        let now = Timestamp::now();
        let readable = self.confirmed(1, 1000).await?;
        let payment = self.pay(&caller, &readable, 1000).await?;
        // Within the provider's largest charge (99,999,999 minor units): one order to pay again
        // and again (the provider's smallest USD charge, 50 cents, each time), and payments paid
        // whole to refund a cent at a time, each at most `USES_OF_A_PAYMENT` times.
        let to_pay = self.confirmed(1000, 99_999).await?;
        let mut refundable = vec![];
        for _ in 0..=warm / USES_OF_A_PAYMENT {
            let big = self.confirmed(1000, 99_999).await?;
            refundable.push(self.pay(&caller, &big, 99_999_000).await?.payment_id);
        }
        // Orders to change, each fewer times than an order's limit of changes.
        let mut to_update = vec![];
        for _ in 0..=warm / USES_OF_AN_ORDER {
            to_update.push(self.order(1, 100, now).await?.order_id);
        }
        let mut to_cancel = vec![];
        for _ in 0..=warm {
            to_cancel.push(self.order(1, 100, now).await?.order_id);
        }
        let batches = warm.min(100);
        let mut created = vec![];
        for _ in 0..(batches + 1) * 10 {
            created.push(self.order(1, 100, now).await?);
        }

        let lines = json!({"currency": "USD", "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}]});
        let same = |event: Value| (event.clone(), vec![event; warm]);
        let each = |make: &dyn Fn(usize) -> Value| (make(warm), (0..warm).map(make).collect::<Vec<_>>());
        let mut list = vec![];
        let mut add = |name: &str, (cold, warm): (Value, Vec<Value>), units: usize| {
            list.push(Scenario { name: name.into(), binary: name.into(), cold, warm, units_per_invocation: units });
        };
        add("hello", same(json!({"ping": 1})), 1);
        add("get-item", same(json!({"orderId": readable.order_id})), 1);
        add("send-message", same(json!({})), 1);
        add("orders-create", same(http("POST", "/orders", "/orders", Some(&lines))), 1);
        add("orders-get", same(http("GET", "/orders/{id}", &format!("/orders/{}", readable.order_id), None)), 1);
        add("orders-list", same(http("GET", "/orders", "/orders?customerId=bench-customer&limit=20", None)), 1);
        add(
            "orders-update",
            each(&|i| {
                let path = format!("/orders/{}", to_update[i / USES_OF_AN_ORDER]);
                http("PUT", "/orders/{id}", &path, Some(&lines))
            }),
            1,
        );
        add("orders-cancel", each(&|i| http("DELETE", "/orders/{id}", &format!("/orders/{}", to_cancel[i]), None)), 1);
        let pay = json!({"orderId": to_pay.order_id, "amount": 50, "currency": "USD", "source": "tok_visa"});
        add("payments-create", same(http("POST", "/payments", "/payments", Some(&pay))), 1);
        add("payments-get", same(http("GET", "/payments/{id}", &format!("/payments/{}", payment.payment_id), None)), 1);
        let refund = |i: usize| {
            let path = format!("/payments/{}/refund", refundable[i / USES_OF_A_PAYMENT]);
            http("POST", "/payments/{id}/refund", &path, Some(&json!({"amount": 1})))
        };
        add("payments-refund", each(&refund), 1);
        let batch = |i: usize| sqs_batch(&created[i * 10..i * 10 + 10]);
        add("order-processor", (batch(batches), (0..batches).map(batch).collect()), 10);
        let schedule = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        add("outbox-relay", same(schedule), 1);
        Ok(list)
    }

    /// A table of the reference stack's design (`pk`/`sk`, index `gsi1`) for the Node peer, with
    /// one order to get and twenty of the bench customer's to list.
    pub async fn peer_table(&self) -> Result<PeerTable> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let sdk = platform::aws::load().await;
        let dynamodb = platform::aws::dynamodb(&sdk);
        let table = format!("{}-peer", self.resources.table);
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        dynamodb
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(vec![
                attribute("pk")?,
                attribute("sk")?,
                attribute("gsi1pk")?,
                attribute("gsi1sk")?,
            ]))
            .set_key_schema(Some(vec![key("pk", KeyType::Hash)?, key("sk", KeyType::Range)?]))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("gsi1")
                    .set_key_schema(Some(vec![key("gsi1pk", KeyType::Hash)?, key("gsi1sk", KeyType::Range)?]))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()?,
            )
            .send()
            .await?;
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let mut order_id = String::new();
        for _ in 0..20 {
            order_id = uuid::Uuid::new_v4().to_string();
            let now = Timestamp::now().to_string();
            let item = json!({"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}).to_string();
            dynamodb
                .put_item()
                .table_name(&table)
                .item("pk", s(&format!("ORDER#{order_id}")))
                .item("sk", s("METADATA"))
                .item("customerId", s(CUSTOMER))
                .item("items", AttributeValue::L(vec![s(&item)]))
                .item("status", s("PENDING"))
                .item("createdAt", s(&now))
                .item("gsi1pk", s(&format!("CUSTOMER#{CUSTOMER}")))
                .item("gsi1sk", s(&now))
                .send()
                .await?;
        }
        Ok(PeerTable { table, order_id })
    }

    /// Seeds `orders` orders on a day of their own, each confirmed and paid that day and every
    /// fourth partly refunded (so the day's ledger holds about 2.25 movements per order); the
    /// scenario reports that day once.
    pub async fn report_day(&self, orders: usize) -> Result<(Scenario, usize)> {
        let n = self.days_used.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let day_start =
            Timestamp::parse("2020-01-01T00:00:00.000Z").expect("valid").millis() + i64::from(n) * 86_400_000;
        let spacing = 86_400_000 / orders.max(1) as i64;
        stream::iter(0..orders)
            .map(|i| async move {
                self.paid_order(Timestamp::from_millis(day_start + i as i64 * spacing), i % 4 == 0).await
            })
            .buffer_unordered(16)
            .try_collect::<()>()
            .await?;
        let day = Timestamp::from_millis(day_start).day();
        let event = json!({ "date": day });
        let scenario = Scenario {
            name: "daily-report".into(),
            binary: "daily-report".into(),
            cold: json!({"date": "1999-01-01"}),
            warm: vec![event],
            units_per_invocation: orders,
        };
        Ok((scenario, orders))
    }

    /// An order created, confirmed and paid at `at` (the capture settled as the provider would
    /// answer), and a quarter of it refunded if `refund`: each write as the platform makes it.
    async fn paid_order(&self, at: Timestamp, refund: bool) -> Result<()> {
        let caller = Caller::from_claims(Some(CUSTOMER), None)?;
        let order = self.order(3, 1234, at).await?;
        self.store.decide(&order.order_id, 1, Ok(()), at).await?;
        let mut payment =
            Payment::pending(PaymentId::new(), (&order.order_id, &order.customer_id), order.total, order.currency, at);
        self.payments.begin(&caller, &order, &StoredPayment::new(payment.clone(), "tok_visa".into())).await?;
        let capture = Capture { intent: "pi_bench".into(), charge: "ch_bench".into() };
        self.payments.settle(&payment, &PaymentSettlement::Captured(capture), at).await?;
        payment.status = PaymentStatus::Captured;
        if refund {
            let refund = Refund::pending(RefundId::new(), payment.payment_id, order.total / 4, None, at);
            self.payments.begin_refund(&payment, &refund).await?;
            let succeeded = RefundSettlement::Succeeded { provider_id: "re_bench".into() };
            self.payments.settle_refund(&payment, &refund, &succeeded, at).await?;
        }
        Ok(())
    }

    async fn order(&self, quantity: i64, unit_price: i64, at: Timestamp) -> Result<Order> {
        let input = [LineItemInput { sku: "SKU-1".into(), quantity, unit_price }];
        let customer = platform::domain::CustomerId::parse("c", CUSTOMER).map_err(platform::Error::from)?;
        let order = Order::new(platform::domain::OrderId::new(), customer, Lines::parse("USD", &input)?, at);
        let written = self.store.create(&order).await?;
        // As the create route leaves an order once its event is sent: otherwise the first change of
        // a seeded order would also send its ORDER_CREATED, an SQS call the route does not make.
        self.store.clear_outbox(&order.order_id, &written.outbox).await?;
        Ok(order)
    }

    /// A confirmed order of the bench's customer, for read loads; its id.
    pub async fn readable_order(&self) -> Result<platform::domain::OrderId> {
        Ok(self.confirmed(1, 1000).await?.order_id)
    }

    async fn confirmed(&self, quantity: i64, unit_price: i64) -> Result<Order> {
        let order = self.order(quantity, unit_price, Timestamp::now()).await?;
        self.store.decide(&order.order_id, 1, Ok(()), Timestamp::now()).await?;
        Ok(self.store.get(&order.order_id).await?.ok_or("seeded order vanished")?)
    }

    /// A payment captured at the provider emulator and settled in the table, as the route does.
    async fn pay(&self, caller: &Caller, order: &Order, amount: i64) -> Result<Payment> {
        let mut payment = Payment::pending(
            PaymentId::new(),
            (&order.order_id, &order.customer_id),
            amount,
            order.currency,
            Timestamp::now(),
        );
        self.payments.begin(caller, order, &StoredPayment::new(payment.clone(), "tok_visa".into())).await?;
        let request = ChargeRequest {
            payment_id: payment.payment_id,
            order_id: payment.order_id,
            source: "tok_visa".into(),
            amount,
            currency: payment.currency,
        };
        let ChargeOutcome::Captured(capture) = self.provider.charge(&request).await? else {
            return Err("the provider emulator did not capture tok_visa".into());
        };
        self.payments.settle(&payment, &PaymentSettlement::Captured(capture), Timestamp::now()).await?;
        payment.status = PaymentStatus::Captured;
        Ok(payment)
    }
}

/// An API Gateway payload 2.0 event from the bench customer.
pub(crate) fn http(method: &str, route: &str, path_and_query: &str, body: Option<&Value>) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let params = server::api_gateway::match_route(route, path).unwrap_or_default();
    let mut headers = vec![("host".to_owned(), "bench.execute-api.us-east-1.amazonaws.com".to_owned())];
    if body.is_some() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    GatewayRequest {
        method: method.into(),
        route: route.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        path_parameters: params,
        claims: Some(BTreeMap::from([("sub".into(), CUSTOMER.into()), ("scope".into(), "orders".into())])),
        request_id: uuid::Uuid::new_v4().to_string(),
    }
    .event()
}

/// An SQS event of `ORDER_CREATED` messages for these orders.
fn sqs_batch(orders: &[Order]) -> Value {
    let records: Vec<Value> = orders
        .iter()
        .map(|o| {
            let body = json!({"eventId": uuid::Uuid::new_v4(), "type": "ORDER_CREATED", "orderId": o.order_id,
                "customerId": o.customer_id, "occurredAt": o.created_at});
            json!({"messageId": uuid::Uuid::new_v4(), "receiptHandle": "r", "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bench", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}
