//! The local platform: provisions `template.yaml` on the emulator at `AWS_ENDPOINT_URL` and serves
//! the API on 127.0.0.1 (port 3000, or `PORT`). Started by `scripts/dev`.

use std::net::SocketAddr;
use std::sync::Arc;

use infra::auth::{self, Authorizer};
use infra::{App, Template};
use platform::domain::Timestamp;
use platform::events::EventPublisher;
use platform::store::OrderStore;

/// How often the outbox relay runs locally (in AWS: every minute).
const RELAY_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    platform::telemetry::init();
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let secret = std::env::var("LOCAL_JWT_SECRET").unwrap_or_else(|_| auth::DEFAULT_SECRET.to_owned());

    let sdk = platform::aws::load().await;
    let template = Template::bundled();
    let resources = infra::provision(&sdk, &template, "local").await?;
    let app = App::new(&sdk, template, resources.names(), &secret);

    let customer = auth::mint(&secret, "demo-customer", "orders", 24 * 3600);
    let admin = auth::mint(&secret, "demo-admin", "orders orders:admin", 24 * 3600);
    println!(
        "\nThe platform is up at http://127.0.0.1:{port}\n\
         table {} | queue {} | dead letters {} | bucket {}\n\n\
         export CUSTOMER_TOKEN={customer}\n\
         export ADMIN_TOKEN={admin}\n\n\
         curl -s -X POST http://127.0.0.1:{port}/orders -H \"authorization: Bearer $CUSTOMER_TOKEN\" \\\n  \
         -H 'content-type: application/json' -d '{{\"currency\":\"USD\",\"items\":[{{\"sku\":\"SKU-1\",\"quantity\":2,\"unitPrice\":1250}}]}}'\n\
         curl -s 'http://127.0.0.1:{port}/orders?customerId=demo-customer' -H \"authorization: Bearer $CUSTOMER_TOKEN\"\n",
        resources.table, resources.queue_url, resources.dead_letter_queue_url, resources.bucket,
    );

    tokio::spawn(infra::queue::consume(platform::aws::sqs(&sdk), resources.queue_url.clone(), app.processor.clone()));
    tokio::spawn(relay_every(RELAY_PERIOD, app.store.clone(), app.events.clone()));

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::select! {
        served = infra::server::serve(addr, Arc::new(app), Arc::new(Authorizer::new(&secret))) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}

/// Runs the outbox relay on a schedule, as EventBridge does in AWS.
async fn relay_every(period: std::time::Duration, store: OrderStore, events: EventPublisher) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(error) = outbox_relay::handle(&store, &events, Timestamp::now()).await {
            tracing::warn!(error = ?error, "the outbox relay failed; it runs again on the next tick");
        }
    }
}
