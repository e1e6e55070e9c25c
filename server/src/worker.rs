//! The background work as loops, doing what EventBridge's schedules do in AWS with the same library
//! functions: the outbox relay (and its sweeper), the payment reconciler, the nightly report. Each
//! loop survives its own failures (logged; the next tick tries again), as a scheduled Lambda does.

use std::time::Duration;

use platform::cashier::Cashier;
use platform::domain::{OrderRules, Timestamp};
use platform::events::EventPublisher;
use platform::exports::S3Exports;
use platform::payment_provider::StripeProvider;
use platform::store::OrderStore;
use tokio::task::JoinHandle;

use crate::App;
use crate::queue::{Receive, Stopping};

/// How often the relay and the reconciler run in AWS (`rate(1 minute)` in `template.yaml`).
pub const SCHEDULE_PERIOD: Duration = Duration::from_secs(60);

/// The background of a process that works the queue, as the container's worker and the local
/// platform run it.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// How the queue's consumer polls.
    pub receive: Receive,
    /// How often the relay (with the sweeper) and the reconciler run.
    pub period: Duration,
    /// Whether the daily report runs at 00:05 UTC here too (Kubernetes runs it as a CronJob).
    pub nightly_report: bool,
}

/// The background's tasks: the queue's consumer, which stops by itself when asked (see
/// [`Stopping`]), and the scheduled loops, which are aborted (a run cut short runs again).
pub struct Tasks {
    pub consumer: JoinHandle<()>,
    pub scheduled: Vec<JoinHandle<()>>,
}

/// Starts the background: the queue's consumer (Lambda's event source mapping, so it polls with
/// the platform's `sqs`, not the function's), the relay, the reconciler and, if asked, the nightly
/// report, each with its function's clients.
pub fn start(
    app: &App,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    background: Background,
    stopping: Stopping,
) -> Tasks {
    let processor = app.function("order-processor").processor.clone();
    let relay = app.function("outbox-relay");
    let (store, events, rules) = (relay.store.clone(), relay.events.clone(), relay.processor.rules.clone());
    let consumer = tokio::spawn(crate::queue::consume(sqs, queue_url, processor, background.receive, stopping));
    let mut scheduled = vec![
        tokio::spawn(relay_every(background.period, store, events, rules)),
        tokio::spawn(reconcile_every(background.period, app.function("payment-reconciler").payments.clone())),
    ];
    if background.nightly_report {
        scheduled.push(tokio::spawn(report_nightly(app.function("daily-report").report.clone())));
    }
    Tasks { consumer, scheduled }
}

/// Runs the outbox relay and the sweeper every `period`.
pub async fn relay_every(period: Duration, store: OrderStore, events: EventPublisher, rules: OrderRules) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(error) = outbox_relay::run(&store, &events, &rules, Timestamp::now()).await {
            tracing::warn!(error = ?error, "the outbox relay failed; it runs again on the next tick");
        }
    }
}

/// Runs the payment reconciler every `period`.
pub async fn reconcile_every(period: Duration, cashier: Cashier<StripeProvider>) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(error) = payment_reconciler::handle(&cashier, Timestamp::now()).await {
            tracing::warn!(error = ?error, "the payment reconciler failed; it runs again on the next tick");
        }
    }
}

/// Runs the daily report at 00:05 UTC for the day before, as the template's schedule does.
pub async fn report_nightly(report: daily_report::Report<S3Exports, StripeProvider>) {
    const DAY_MILLIS: i64 = 24 * 3600 * 1000;
    const AFTER_MIDNIGHT_MILLIS: i64 = 5 * 60 * 1000;
    loop {
        let now = Timestamp::now().millis();
        let next =
            (now - AFTER_MIDNIGHT_MILLIS).div_euclid(DAY_MILLIS) * DAY_MILLIS + DAY_MILLIS + AFTER_MIDNIGHT_MILLIS;
        tokio::time::sleep(Duration::from_millis((next - now) as u64)).await;
        if let Err(error) = daily_report::handle(&report, &serde_json::json!({}), Timestamp::now()).await {
            tracing::warn!(error = ?error, "the nightly report failed");
        }
    }
}
