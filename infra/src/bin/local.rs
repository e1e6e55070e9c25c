//! The local platform: provisions `template.yaml` on the emulator at `AWS_ENDPOINT_URL` and serves
//! the API on 127.0.0.1 (port 3000, or `PORT`). Started by `scripts/dev`.

use std::net::SocketAddr;
use std::sync::Arc;

use infra::auth::{self, Authorizer};
use infra::{App, Template};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    platform::telemetry::init();
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let secret = std::env::var("LOCAL_JWT_SECRET").unwrap_or_else(|_| auth::DEFAULT_SECRET.to_owned());

    let sdk = platform::aws::load().await;
    let template = Template::bundled();
    let resources = infra::provision(&sdk, &template, "local").await?;
    let app = App::new(&sdk, template, &resources.table, &resources.queue_url, &secret);

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

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::select! {
        served = infra::server::serve(addr, Arc::new(app), Arc::new(Authorizer::new(&secret))) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}
