//! A property test of money under faults: random sequences of payments and refunds with every
//! card token, keyed retries, crashes at every point, webhooks delivered twice and late, the
//! provider unreachable, and the provider forgetting every idempotency key (a day passing there).
//! After everything settles, the platform's books equal the provider's and no invariant is broken.

use platform::faults::{self, Point};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app_with};
use crate::money_faults::{HOUR_MS, LATER_MS, assert_books_agree, confirmed, get, payment_body};

/// One step of a random money workload.
#[derive(Debug, Clone)]
enum Step {
    /// Pay part of the order with a card token, perhaps with a key, perhaps dying at a point.
    Pay { amount: i64, token: &'static str, key: Option<u8>, crash: Option<Point> },
    /// Refund part of the `payment`-th payment made so far.
    Refund { payment: usize, amount: i64, key: Option<u8>, crash: Option<Point> },
    /// The provider unreachable from here until the workload settles.
    Outage,
    /// More than a day passes at the provider: it forgets every idempotency key.
    ForgetKeys,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let token = prop_oneof![
        Just("tok_visa"),
        Just("tok_timeout"),
        Just("tok_chargeDeclined"),
        Just("tok_refundFails"),
        Just("tok_providerError"),
        Just("tok_threeDSecureRequired"),
        Just("tok_unknown")
    ];
    let key = proptest::option::of(0u8..3);
    let pay_crash = proptest::option::of(prop_oneof![
        Just(Point::AfterClaim),
        Just(Point::AfterPaymentWrite),
        Just(Point::AfterCharge)
    ]);
    let refund_crash = proptest::option::of(prop_oneof![
        Just(Point::AfterClaim),
        Just(Point::AfterRefundHold),
        Just(Point::AfterRefund)
    ]);
    prop_oneof![
        4 => (1i64..1500, token, key.clone(), pay_crash).prop_map(|(amount, token, key, crash)| Step::Pay {
            amount,
            token,
            key,
            crash
        }),
        4 => (0usize..4, 1i64..1500, key, refund_crash).prop_map(|(payment, amount, key, crash)| Step::Refund {
            payment,
            amount,
            key,
            crash
        }),
        1 => Just(Step::Outage),
        1 => Just(Step::ForgetKeys),
    ]
}

/// Runs one step as a client would: a request that may die, then (when keyed) a retry.
async fn run(app: &std::sync::Arc<TestApp>, order: &str, payments: &mut Vec<String>, step: &Step) {
    let (path, body, key, crash) = match step {
        Step::Pay { amount, token, key, crash } => {
            ("/payments".to_owned(), payment_body(order, *amount, token), key, crash)
        }
        Step::Refund { payment, amount, key, crash } => {
            let Some(id) = payments.get(*payment) else { return };
            (format!("/payments/{id}/refund"), json!({"amount": amount}), key, crash)
        }
        Step::Outage => return app.emulator_control("/_emulator/outage", json!({"seconds": 3600})).await,
        Step::ForgetKeys => {
            return app.emulator_control("/_emulator/clock", json!({"advanceSeconds": 25 * 3600})).await;
        }
    };
    let key = key.map(|k| format!("{path}-{k}"));
    let send = {
        let (app, path, body, key) = (app.clone(), path.clone(), body.clone(), key.clone());
        async move {
            let call = app.request("POST", &path).json(&body);
            match key {
                Some(key) => call.header("idempotency-key", &key).send().await,
                None => call.send().await,
            }
        }
    };
    // A request that never reaches its armed point (refused earlier, or no key to claim) completes.
    let reply = match crash {
        Some(point) => match tokio::spawn(faults::armed(*point, send)).await {
            Ok(reply) => Some(reply),
            Err(_) => {
                app.expire_idempotency_locks().await;
                match &key {
                    Some(key) => {
                        Some(app.request("POST", &path).header("idempotency-key", key).json(&body).send().await)
                    }
                    None => None,
                }
            }
        },
        None => Some(send.await),
    };
    if let Some(reply) = reply {
        assert!(reply.status < 500, "{step:?}: {reply:?}");
        if path == "/payments" && reply.body["paymentId"].is_string() {
            let id = reply.body["paymentId"].as_str().unwrap().to_owned();
            if !payments.contains(&id) {
                payments.push(id);
            }
        }
    }
}

#[test]
fn random_payments_refunds_retries_and_crashes_leave_the_books_equal_to_the_providers() {
    use proptest::prelude::*;
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(8);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(steps in proptest::collection::vec(step(), 1..8))| {
        // On the heap: the case's future holds every handler's state, more than a test thread's stack.
        runtime.block_on(Box::pin(async {
            // Arrange: a 2599 order; webhooks arrive twice and up to 200 ms late.
            let app = std::sync::Arc::new(spawn_app_with(|emulator| {
                emulator.duplicate_deliveries = 1;
                emulator.delivery_jitter = std::time::Duration::from_millis(200);
            }).await);
            let order = confirmed(&app).await;
            let mut payments = vec![];

            // Act
            for step in &steps {
                run(&app, &order, &mut payments, step).await;
            }
            // Settle: the provider back, late webhooks and failing refunds landed, the rest reconciled.
            app.emulator_control("/_emulator/outage", json!({"seconds": 0})).await;
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            app.reconcile(LATER_MS).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            app.reconcile(LATER_MS + HOUR_MS).await;

            // Assert
            let books = app.provider_books().await;
            let provider_payments = books["payments"].as_object().unwrap();
            assert_eq!(books["captures"].as_u64().unwrap() as usize, provider_payments.len(), "one capture per payment");
            let (mut paid, mut refunded) = (0, 0);
            for id in provider_payments.keys() {
                assert_books_agree(&app, id).await;
                let ours = get(&app, &format!("/payments/{id}")).await;
                assert_eq!(ours["status"], "CAPTURED", "{steps:?}");
                assert!(ours["refunds"].as_array().unwrap().iter().all(|r| r["status"] != "PENDING"), "{ours}");
                paid += ours["amount"].as_i64().unwrap();
                refunded += ours["refunded"].as_i64().unwrap();
            }
            let order_now = get(&app, &format!("/orders/{order}")).await;
            assert_eq!((order_now["paid"].as_i64().unwrap(), order_now["refunded"].as_i64().unwrap()), (paid, refunded), "{steps:?}");
            assert!(0 <= refunded && refunded <= paid && paid <= order_now["total"].as_i64().unwrap(), "{order_now}");

            // The ledger, written by the same transactions, says the same, and so does the provider.
            let today = platform::domain::Timestamp::now().day();
            let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
            let report = daily_report::run(&app.app.function("daily-report").report, day).await.unwrap();
            let usd = |totals: &std::collections::BTreeMap<String, i64>| totals.get("USD").copied().unwrap_or_default();
            assert_eq!((usd(&report.paid), usd(&report.refunded)), (paid, refunded), "{steps:?}");
            assert!(report.pending.captures.is_empty() && report.pending.refunds.is_empty(), "{:?}", report.pending);
            // (Once the provider's clock has run a day ahead of ours, its books date what it made a
            // day later than ours do, so the day's reconciliation has nothing to compare.)
            if !steps.iter().any(|step| matches!(step, Step::ForgetKeys)) {
                assert!(report.reconciliation.values().all(|books| books.balanced), "{:?}", report.reconciliation);
            }
        }));
    });
}
