//! The local platform: provisions `template.yaml` on the emulator at `AWS_ENDPOINT_URL` and serves
//! the API on 127.0.0.1 (port 3000, or `PORT`). Started by `scripts/dev`.

use std::net::SocketAddr;
use std::sync::Arc;

use local::provider_emulator::{self, EmulatorSettings, Webhook};
use local::tokens;
use platform::domain::OrderRules;
use platform::payment_provider::ProviderSettings;
use server::edge::Edge;
use server::{App, Settings, Template, worker};

/// Names on the emulator start with this: `local-orders`, `local-order-queue`, ...
const PREFIX: &str = "local";

/// How often the outbox relay and the payment reconciler run locally (in AWS: every minute).
const RELAY_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);
/// The payment provider emulator's secret API key and webhook signing secret: local values.
const PROVIDER_API_KEY: &str = "sk_test_local";
const WEBHOOK_SECRET: &str = "whsec_local";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    platform::telemetry::init();
    // With OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave in batches (docs/operations.md, "Traces").
    tokio::spawn(platform::telemetry::flush_every(std::time::Duration::from_secs(2)));
    server::prometheus::install();
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let secret = match std::env::var("LOCAL_JWT_SECRET") {
        Err(_) => tokens::DEFAULT_SECRET.to_owned(),
        Ok(secret) if secret.is_empty() => {
            return Err("LOCAL_JWT_SECRET is set but empty: unset it, or give it a value".into());
        }
        Ok(secret) => secret,
    };
    // Cursors are signed with a key of their own: the JWT secret is known to every local client,
    // and a cursor signed with it could be forged. LOCAL_CURSOR_SECRET keeps cursors valid across
    // restarts; by default each start makes a new one.
    let cursor_secret = std::env::var("LOCAL_CURSOR_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()));

    let sdk = platform::aws::load().await;
    let template = Template::bundled();
    let resources = match local::provision::existing(&sdk, PREFIX).await {
        Some(restored) => restored,
        None => local::provision(&sdk, &local::specs::Specs::bundled(), PREFIX).await?,
    };
    // Prometheus's /metrics on its own port, never the API's (API.md).
    let metrics_port: u16 = std::env::var("METRICS_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(9090);
    let metrics_listener = tokio::net::TcpListener::bind(("127.0.0.1", metrics_port)).await?;
    let metrics_url = format!("http://127.0.0.1:{}/metrics", metrics_listener.local_addr()?.port());
    tokio::spawn(server::prometheus::serve(metrics_listener));
    // The payment provider: the emulator of its API, on its own port, calling our webhook route.
    let provider_port: u16 = std::env::var("PAYMENT_PROVIDER_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(4242);
    let provider_listener = tokio::net::TcpListener::bind(("127.0.0.1", provider_port)).await?;
    let provider_url = format!("http://127.0.0.1:{}", provider_listener.local_addr()?.port());
    let mut emulator = EmulatorSettings::new(PROVIDER_API_KEY);
    emulator.webhook = Some(Webhook {
        url: format!("http://127.0.0.1:{port}/webhooks/payment-provider"),
        secret: WEBHOOK_SECRET.into(),
    });
    emulator.duplicate_deliveries = 1;
    emulator.delivery_jitter = std::time::Duration::from_millis(500);
    tokio::spawn(provider_emulator::serve(provider_listener, emulator));

    let settings = Settings {
        cursor_secret: cursor_secret.into(),
        rules: OrderRules::from_env()?,
        provider: ProviderSettings {
            base_url: provider_url.clone(),
            api_key: PROVIDER_API_KEY.into(),
            timeout: std::time::Duration::from_secs(3),
            limits: provider_emulator::limits(),
        },
        webhook_secret: WEBHOOK_SECRET.into(),
    };
    // Each function signs as itself, so the IAM gate in front of the emulators judges its calls.
    let as_function = |binary: &str| local::as_function(&sdk, binary, &resources);
    let app = App::new(as_function, template, resources.names(), settings);

    let customer = tokens::mint(&secret, "demo-customer", "orders", 24 * 3600);
    let admin = tokens::mint(&secret, "demo-admin", "orders orders:admin", 24 * 3600);
    println!("{}", banner(port, (&provider_url, &metrics_url), &resources, &customer, &admin));

    // Short polls: a developer sees an order decided within a second or two.
    let receive = server::queue::Receive { wait_seconds: 1, ..Default::default() };
    let background = worker::Background { receive, period: RELAY_PERIOD, nightly_report: true };
    let stopping = server::queue::Stopping::never(); // Ctrl-C ends the process; SQS redelivers
    let _tasks = worker::start(&app, platform::aws::sqs(&sdk), resources.queue_url.clone(), background, stopping);

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let edge =
        Edge::new(Arc::new(app), Arc::new(tokens::authorizer(&secret))).with_routes(vec![local::report_route::route()]);
    tokio::select! {
        served = server::edge::serve(listener, edge) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}

/// What a developer needs to start: where things are, two tokens, and a walk through the API.
fn banner(
    port: u16,
    (provider, metrics): (&str, &str),
    resources: &local::Resources,
    customer: &str,
    admin: &str,
) -> String {
    let api = format!("http://127.0.0.1:{port}");
    format!(
        r#"
The platform is up at {api}
  table {table} | queue {queue} | dead letters {dlq} | bucket {bucket}
  payment provider emulator at {provider} (key {PROVIDER_API_KEY}; webhooks to /webhooks/payment-provider)
  Prometheus metrics at {metrics}

export API={api}
export CUSTOMER_TOKEN={customer}
export ADMIN_TOKEN={admin}

# create an order (processed to CONFIRMED within a second or two)
curl -s -X POST $API/orders -H "authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' \
  -H 'idempotency-key: demo-1' -d '{{"currency":"USD","items":[{{"sku":"SKU-1","quantity":2,"unitPrice":1250}}]}}'
curl -s "$API/orders?customerId=demo-customer" -H "authorization: Bearer $CUSTOMER_TOKEN"
# pay it (ORDER_ID from above), refund part of it (PAYMENT_ID from the payment)
curl -s -X POST $API/payments -H "authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' \
  -d '{{"orderId":"'$ORDER_ID'","amount":2500,"currency":"USD","source":"tok_visa"}}'
curl -s -X POST $API/payments/$PAYMENT_ID/refund -H "authorization: Bearer $CUSTOMER_TOKEN" \
  -H 'content-type: application/json' -d '{{"amount":500,"reason":"damaged"}}'
# a payment whose answer is lost (tok_timeout): 202 PENDING, then CAPTURED by the reconciler
# within a minute; watch it with GET /payments/$PAYMENT_ID. tok_refundFails: refunds end FAILED.
curl -s -X POST $API/payments -H "authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' \
  -d '{{"orderId":"'$ORDER_ID'","amount":99,"currency":"USD","source":"tok_timeout"}}'
# today's report, on demand
curl -s -X POST $API/_local/report -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
  -d '{{"date":"'$(date -u +%F)'"}}'
"#,
        table = resources.table,
        queue = resources.queue_url,
        dlq = resources.dead_letter_queue_url,
        bucket = resources.bucket,
    )
}
