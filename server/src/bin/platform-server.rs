//! The container's entry point: `platform-server api | worker | report [--date D | --from D --to D]
//! | release-check`.
//!
//! - `api` serves every route of `template.yaml` on `PORT` (8080), with the health checks, and
//!   verifies tokens against the issuer's JWKS (`JWT_ISSUER`, `JWT_AUDIENCE`, and `JWT_JWKS_URL`,
//!   by default `<issuer>/.well-known/jwks.json`) or, for local use, an HS256 `JWT_HS256_SECRET`.
//! - `worker` consumes the order queue and runs the outbox relay (with its sweeper) and the payment
//!   reconciler every minute, answering the health checks on `PORT`.
//! - `report` runs the daily report once (the day before, or the days asked) and exits, after
//!   pushing its metrics to `PUSHGATEWAY_URL` when set (nothing scrapes a process that short).
//! - `release-check` runs the release check's probes through this image's handlers and exits
//!   non-zero if any is answered wrongly: a Kubernetes release's smoke check (`server::release`).
//!
//! Everything else is read as the functions read it (`ORDERS_TABLE`, `ORDER_QUEUE_URL`,
//! `EXPORTS_BUCKET`, the secrets' ARNs, ...). SIGTERM stops it gracefully (`SHUTDOWN_DRAIN_SECONDS`,
//! `SHUTDOWN_GRACE_SECONDS`); it exits 0 when everything in flight finished.

use std::sync::Arc;
use std::time::Duration;

use platform::config::{self, ConfigError, Vars};
use platform::domain::{OrderRules, Timestamp};
use server::auth::Authorizer;
use server::edge::{Edge, Stop};
use server::{App, Names, Settings, Template, worker};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init();
    // Spans leave in batches while the process runs, and the last ones before it exits.
    tokio::spawn(platform::telemetry::flush_every(Duration::from_secs(5)));
    server::prometheus::install();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("api") => api().await,
        Some("worker") => worker().await,
        Some("report") => report(&args[1..]).await,
        Some("release-check") => release_check().await,
        _ => Err("usage: platform-server api | worker | report [--date YYYY-MM-DD | --from YYYY-MM-DD --to \
                  YYYY-MM-DD] | release-check"
            .into()),
    };
    platform::telemetry::flush().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "platform-server failed");
            eprintln!("platform-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Every function's clients, built once from the environment as each function's `main` builds them.
/// Only the API serves routes, so only it reads the cursor and webhook secrets: each workload's
/// role (infra/kubernetes/iam.yaml) may read just the secrets its own functions use.
async fn app(serves_routes: bool) -> Result<App, Failure> {
    let sdk = platform::aws::load().await;
    let route_secret = |direct, arn| {
        let sdk = &sdk;
        async move { if serves_routes { platform::aws::secret(sdk, direct, arn).await } else { Ok("".into()) } }
    };
    let settings = Settings {
        cursor_secret: route_secret(config::CURSOR_SECRET, config::CURSOR_SECRET_ARN).await?,
        rules: OrderRules::from_env()?,
        provider: platform::aws::provider_settings(&sdk).await?,
        webhook_secret: route_secret(config::PAYMENT_WEBHOOK_KEY, config::PAYMENT_WEBHOOK_SECRET).await?,
    };
    let (table, queue_url, bucket) = (
        config::var(config::ORDERS_TABLE)?,
        config::var(config::ORDER_QUEUE_URL)?,
        config::var(config::EXPORTS_BUCKET)?,
    );
    let names = Names { table: &table, queue_url: &queue_url, bucket: &bucket };
    // One workload, one role: every function this process runs signs as it.
    Ok(App::new(|_| sdk.clone(), Template::bundled(), names, settings))
}

/// The token verifier the environment asks for.
fn authorizer() -> Result<Authorizer, ConfigError> {
    let issuer = config::var("JWT_ISSUER")?;
    let audiences = config::var("JWT_AUDIENCE")?;
    let audiences: Vec<&str> = audiences.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
    if let Some(secret) = config::Env.get("JWT_HS256_SECRET").filter(|s| !s.is_empty()) {
        return Ok(Authorizer::hs256(&secret, &issuer, &audiences));
    }
    let jwks = config::Env
        .get("JWT_JWKS_URL")
        .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
    Ok(Authorizer::jwks(&jwks, &issuer, &audiences))
}

fn stop() -> Result<Stop, ConfigError> {
    let seconds = |name: &'static str, default: u64| {
        config::parse::<u64>(&config::Env, name, "a number of seconds")
            .map(|s| Duration::from_secs(s.unwrap_or(default)))
    };
    Ok(Stop { drain: seconds("SHUTDOWN_DRAIN_SECONDS", 5)?, grace: seconds("SHUTDOWN_GRACE_SECONDS", 20)? })
}

async fn listener() -> Result<tokio::net::TcpListener, Failure> {
    let port = config::parse::<u16>(&config::Env, "PORT", "a port number")?.unwrap_or(8080);
    Ok(tokio::net::TcpListener::bind(("0.0.0.0", port)).await?)
}

/// Serves `/metrics` on `METRICS_PORT` (9090), apart from the API.
async fn metrics() -> Result<(), Failure> {
    let port = config::parse::<u16>(&config::Env, "METRICS_PORT", "a port number")?.unwrap_or(9090);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics");
    tokio::spawn(server::prometheus::serve(listener));
    Ok(())
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn terminated() {
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn api() -> Result<(), Failure> {
    let (authorizer, stop) = (authorizer()?, stop()?);
    metrics().await?;
    let app = app(true).await?;
    let listener = listener().await?;
    tracing::info!(address = %listener.local_addr()?, "serving the API");
    let edge = Edge::new(Arc::new(app), Arc::new(authorizer));
    Ok(server::edge::serve_until(listener, edge, terminated(), stop).await?)
}

async fn worker() -> Result<(), Failure> {
    let stop = stop()?;
    metrics().await?;
    let app = app(false).await?;
    let sdk = platform::aws::load().await;
    let queue_url = config::var(config::ORDER_QUEUE_URL)?;
    // Long polls of 20 s (SQS's longest): an idle queue costs three requests a minute.
    let receive = server::queue::Receive { wait_seconds: 20, ..Default::default() };
    let background = worker::Background { receive, period: worker::SCHEDULE_PERIOD, nightly_report: false };
    // SIGTERM: the consumer takes no new batch, and the batch in hand gets the grace to finish or is
    // handed back (visibility 0); a scheduled run cut short runs again on the next tick. Both are
    // safe to repeat (DynamoDB conditions decide each write once).
    let (stop_consuming, signal) = tokio::sync::watch::channel(false);
    let stopping = server::queue::Stopping { signal, grace: stop.grace };
    let tasks = worker::start(&app, platform::aws::sqs(&sdk), queue_url, background, stopping);
    let listener = listener().await?;
    tracing::info!(address = %listener.local_addr()?, "working; health checks served");
    let edge = Edge::health_only(Arc::new(app));
    let terminating = async {
        terminated().await;
        let _ = stop_consuming.send(true);
    };
    let served = server::edge::serve_until(listener, edge, terminating, Stop { drain: Duration::ZERO, ..stop }).await;
    for task in tasks.scheduled {
        task.abort();
    }
    // A long poll in flight ends within its 20 s, then the batch's grace.
    let consumer_deadline = stop.grace + Duration::from_secs(20);
    if tokio::time::timeout(consumer_deadline, tasks.consumer).await.is_err() {
        tracing::warn!("the queue consumer had not stopped at its deadline");
    }
    Ok(served?)
}

async fn report(args: &[String]) -> Result<(), Failure> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let payload = match (flag("--date"), flag("--from"), flag("--to")) {
        (Some(date), None, None) => serde_json::json!({ "date": date }),
        (None, Some(from), Some(to)) => serde_json::json!({ "from": from, "to": to }),
        (None, None, None) if args.is_empty() => serde_json::json!({}),
        _ => return Err("report takes --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD, or nothing".into()),
    };
    let app = app(false).await?;
    let reported = daily_report::handle(&app.function("daily-report").report, &payload, Timestamp::now()).await?;
    println!("{}", serde_json::to_string_pretty(&reported)?);
    // A push that fails fails the run: the job's failure alerts, and its retry reruns the report,
    // which is safe; an unbalanced ledger nobody was told of would not be.
    if let Some(url) = config::Env.get("PUSHGATEWAY_URL").filter(|u| !u.is_empty()) {
        server::prometheus::push(&url, "platform-report").await?;
    }
    Ok(())
}

async fn release_check() -> Result<(), Failure> {
    let app = app(true).await?;
    let failures = release_check::check(&server::release::Handlers(&app)).await;
    if failures.is_empty() {
        println!("release check passed: {} probes", release_check::PROBES.len());
        return Ok(());
    }
    let failed: Vec<&str> = failures.iter().map(|f| f.function).collect();
    Err(format!("release check failed: {}", failed.join(", ")).into())
}
