//! The payment provider adapter's contract, run against two implementations of the provider's API:
//! the project's own emulator (`local::provider_emulator`) and stripe-stateful-mock 0.0.16 from
//! npm (started by `scripts/test`, address in `STRIPE_MOCK_URL`), a third party's reading of the
//! same API. Where the third party differs from the documented API, the test says so.
//!
//! stripe-stateful-mock mocks API version 2020-08-27 with charges and refunds but no payment
//! intents: `POST /v1/payment_intents` is a 404 there. So the adapter's refunds, retrieval and
//! idempotency run against both, while its charge (a confirmed payment intent) runs against our
//! emulator, and the decline is checked on the mock through a raw charge, whose error is the
//! shape the adapter reads (HTTP 402, `type: card_error`).

use std::time::Duration;

use http_body_util::BodyExt;
use platform::domain::{Currency, OrderId, PaymentId, RefundId};
use platform::payment_provider::{
    AmountLimits, ChargeOutcome, ChargeRequest, PaymentProvider, ProviderSettings, RefundOutcome, RefundRequest,
    StripeProvider,
};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Emulator,
    StripeMock,
}

const SERVERS: [Server; 2] = [Server::Emulator, Server::StripeMock];
pub(crate) const KEY: &str = "sk_test_contract";

/// A provider adapter pointed at `server`, and that server's address.
async fn provider(server: Server) -> (StripeProvider, String) {
    let url = match server {
        Server::Emulator => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
            let settings = local::provider_emulator::EmulatorSettings::new(KEY);
            tokio::spawn(local::provider_emulator::serve(listener, settings));
            url
        }
        Server::StripeMock => std::env::var("STRIPE_MOCK_URL")
            .expect("STRIPE_MOCK_URL is not set: run the tests with scripts/test, which starts stripe-stateful-mock"),
    };
    let settings = ProviderSettings {
        base_url: url.clone(),
        api_key: KEY.into(),
        timeout: Duration::from_secs(5),
        limits: AmountLimits::Stripe,
    };
    (StripeProvider::new(settings), url)
}

/// A form POST straight to the server, bypassing the adapter.
pub(crate) async fn raw_post(url: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let body: String = form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let request = hyper::Request::post(format!("{url}{path}"))
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A captured charge of 1000 cents (`ch_...`) to refund: through the adapter on our emulator, as
/// a raw charge on the mock (which has no payment intents).
async fn captured_charge(server: Server, provider: &StripeProvider, url: &str) -> (PaymentId, String) {
    let payment_id = PaymentId::new();
    let charge = match server {
        Server::Emulator => {
            let request = ChargeRequest {
                payment_id,
                order_id: OrderId::new(),
                source: "tok_visa".into(),
                amount: 1000,
                currency: Currency::parse("c", "USD").unwrap(),
            };
            match provider.charge(&request).await.unwrap() {
                ChargeOutcome::Captured(capture) => capture.charge,
                other => panic!("tok_visa was not captured: {other:?}"),
            }
        }
        Server::StripeMock => {
            let (status, charge) =
                raw_post(url, "/v1/charges", &[("amount", "1000"), ("currency", "usd"), ("source", "tok_visa")]).await;
            assert_eq!(status, 200, "{charge}");
            charge["id"].as_str().unwrap().to_owned()
        }
    };
    (payment_id, charge)
}

fn refund(payment_id: PaymentId, charge: &str, amount: i64) -> RefundRequest {
    RefundRequest { refund_id: RefundId::new(), payment_id, charge: charge.to_owned(), amount }
}

#[tokio::test]
async fn a_repeated_refund_is_answered_again_and_not_made_again() {
    for server in SERVERS {
        // Arrange
        let (provider, url) = provider(server).await;
        let (payment, charge) = captured_charge(server, &provider, &url).await;
        let first = refund(payment, &charge, 300);

        // Act
        let answer = provider.refund(&first).await.unwrap();
        let again = provider.refund(&first).await.unwrap();
        let rest = provider.refund(&refund(payment, &charge, 700)).await.unwrap();
        let beyond = provider.refund(&refund(payment, &charge, 1)).await.unwrap();

        // Assert: the repeat was the first answer, and only 300 + 700 moved.
        let RefundOutcome::Succeeded { id } = &answer else { panic!("{server:?}: {answer:?}") };
        assert_eq!(again, answer, "{server:?}");
        assert!(matches!(rest, RefundOutcome::Succeeded { .. }), "{server:?}: {rest:?}");
        assert!(matches!(beyond, RefundOutcome::Failed { id: None, .. }), "{server:?}: {beyond:?}");
        assert_eq!(provider.refund_status(id).await.unwrap(), answer, "{server:?}");
    }
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_not_taken_for_an_answer() {
    for server in SERVERS {
        let (provider, url) = provider(server).await;
        let (payment, charge) = captured_charge(server, &provider, &url).await;
        let first = refund(payment, &charge, 100);
        provider.refund(&first).await.unwrap();

        let other = provider.refund(&RefundRequest { amount: 200, ..first }).await;

        // A 400 idempotency_error: the request was not run; the adapter says it has no answer.
        assert!(other.is_err(), "{server:?}: {other:?}");
    }
}

#[tokio::test]
async fn a_refund_over_what_is_left_is_refused_and_moves_nothing() {
    for server in SERVERS {
        let (provider, url) = provider(server).await;
        let (payment, charge) = captured_charge(server, &provider, &url).await;

        let over = provider.refund(&refund(payment, &charge, 1001)).await.unwrap();
        let all = provider.refund(&refund(payment, &charge, 1000)).await.unwrap();

        assert!(matches!(over, RefundOutcome::Failed { id: None, .. }), "{server:?}: {over:?}");
        assert!(matches!(all, RefundOutcome::Succeeded { .. }), "{server:?}: {all:?}");
    }
}

#[tokio::test]
async fn a_declined_card_is_a_402_card_error() {
    // Our emulator, through the adapter's charge.
    let (provider_, _) = provider(Server::Emulator).await;
    let request = ChargeRequest {
        payment_id: PaymentId::new(),
        order_id: OrderId::new(),
        source: "tok_chargeDeclined".into(),
        amount: 500,
        currency: Currency::parse("c", "USD").unwrap(),
    };
    assert!(matches!(provider_.charge(&request).await.unwrap(), ChargeOutcome::Declined(_)));

    // The mock: no payment intents (a difference from the documented API): its 404 is a refusal
    // for good, as any 4xx of a first execution (nothing moved); a raw charge declines with the
    // error the adapter reads.
    let (mock, url) = provider(Server::StripeMock).await;
    assert!(
        matches!(mock.charge(&request).await, Ok(ChargeOutcome::Refused)),
        "stripe-stateful-mock now has payment intents: run the charge tests on it"
    );
    let (status, declined) =
        raw_post(&url, "/v1/charges", &[("amount", "500"), ("currency", "usd"), ("source", "tok_chargeDeclined")])
            .await;
    assert_eq!((status, declined["error"]["type"].as_str()), (402, Some("card_error")), "{declined}");
}

#[tokio::test]
async fn the_books_of_a_period_hold_our_charges_and_refunds_by_our_ids_and_nothing_else() {
    for server in SERVERS {
        // Arrange: a charge and a refund of ours, and someone else's charge on the same account.
        let (provider, url) = provider(server).await;
        let now = platform::domain::Timestamp::now();
        let hour = |n: i64| platform::domain::Timestamp::from_millis(now.millis() + n * 3_600_000);
        let payment_id = PaymentId::new();
        let charge = match server {
            Server::Emulator => {
                let request = ChargeRequest { payment_id, ..charge_request("tok_visa", 1700) };
                let ChargeOutcome::Captured(capture) = provider.charge(&request).await.unwrap() else { panic!() };
                capture.charge
            }
            Server::StripeMock => {
                let id = payment_id.to_string();
                let form =
                    [("amount", "1700"), ("currency", "usd"), ("source", "tok_visa"), ("metadata[payment_id]", &id)];
                let (status, charge) = raw_post(&url, "/v1/charges", &form).await;
                assert_eq!(status, 200, "{charge}");
                charge["id"].as_str().unwrap().to_owned()
            }
        };
        let made = refund(payment_id, &charge, 400);
        let refunded = provider.refund(&made).await.unwrap();
        assert!(matches!(refunded, RefundOutcome::Succeeded { .. }), "{server:?}: {refunded:?}");
        let (path, form) = match server {
            Server::Emulator => (
                "/v1/payment_intents",
                vec![
                    ("amount", "900"),
                    ("currency", "usd"),
                    ("confirm", "true"),
                    ("payment_method_data[card][token]", "tok_visa"),
                ],
            ),
            Server::StripeMock => ("/v1/charges", vec![("amount", "900"), ("currency", "usd"), ("source", "tok_visa")]),
        };
        let (status, theirs) = raw_post(&url, path, &form).await;
        assert_eq!(status, 200, "{server:?}: {theirs}");

        // Act
        let during = provider.books(hour(-1), hour(1)).await.unwrap();
        let later = provider.books(hour(1), hour(2)).await.unwrap();

        // Assert: ours by our ids, moved; nothing of the other charge; nothing in a later hour.
        let capture = &during.captures[&payment_id.to_string()];
        assert_eq!((capture.amount, capture.currency.as_str(), capture.moved), (1700, "USD", true), "{server:?}");
        let refund = &during.refunds[&made.refund_id.to_string()];
        assert_eq!((refund.amount, refund.moved), (400, true), "{server:?}");
        assert!(during.captures.values().all(|held| held.amount != 900), "{server:?}: someone else's charge");
        assert!(!later.captures.contains_key(&payment_id.to_string()), "{server:?}: nothing was made then");
    }
}

#[tokio::test]
async fn a_key_is_forgotten_after_24_hours_of_the_providers_clock_and_then_charges_again() {
    // Our emulator only: the mock has no clock to move. Stripe keeps a key's result 24 hours.
    let (provider_, url) = provider(Server::Emulator).await;
    let request = ChargeRequest {
        payment_id: PaymentId::new(),
        order_id: OrderId::new(),
        source: "tok_visa".into(),
        amount: 500,
        currency: Currency::parse("c", "USD").unwrap(),
    };
    let first = provider_.charge(&request).await.unwrap();

    // Within the day the key answers the first result again; a day later it is a new charge.
    let again = provider_.charge(&request).await.unwrap();
    crate::emulator::emulator_control(&url, "/_emulator/clock", serde_json::json!({"advanceSeconds": 25 * 3600})).await;
    let later = provider_.charge(&request).await.unwrap();

    assert_eq!(again, first);
    let (ChargeOutcome::Captured(first), ChargeOutcome::Captured(later)) = (first, later) else {
        panic!("tok_visa captures")
    };
    assert_ne!(first.charge, later.charge, "the forgotten key charged the card a second time");
}

/// A charge request for `amount` with `token`, under a new payment id.
fn charge_request(token: &str, amount: i64) -> ChargeRequest {
    ChargeRequest {
        payment_id: PaymentId::new(),
        order_id: OrderId::new(),
        source: token.into(),
        amount,
        currency: Currency::parse("c", "USD").unwrap(),
    }
}

#[tokio::test]
async fn a_charge_and_a_refund_are_found_by_our_ids_without_making_them() {
    // Our emulator only: the mock has no payment intents to search.
    let (provider, _) = provider(Server::Emulator).await;
    let request = charge_request("tok_visa", 1000);
    let ChargeOutcome::Captured(capture) = provider.charge(&request).await.unwrap() else { panic!("captured") };
    let made = refund(request.payment_id, &capture.charge, 300);
    let refunded = provider.refund(&made).await.unwrap();

    // Act
    let found = provider.find_charge(&request.payment_id).await.unwrap();
    let unknown = provider.find_charge(&PaymentId::new()).await.unwrap();
    let found_refund = provider.find_refund(&made).await.unwrap();
    let unknown_refund = provider.find_refund(&refund(request.payment_id, &capture.charge, 300)).await.unwrap();

    // Assert: found as made; an id never used is none, and looking made nothing.
    assert_eq!(found, Some(ChargeOutcome::Captured(capture.clone())));
    assert_eq!(unknown, None);
    assert_eq!(found_refund, Some(refunded));
    assert_eq!(unknown_refund, None);
    let again = provider.refund(&refund(request.payment_id, &capture.charge, 700)).await.unwrap();
    assert!(matches!(again, RefundOutcome::Succeeded { .. }), "only 300 was refunded: {again:?}");
}

#[tokio::test]
async fn a_refund_is_found_among_its_charges_refunds_by_our_id() {
    for server in SERVERS {
        let (provider, url) = provider(server).await;
        let (payment, charge) = captured_charge(server, &provider, &url).await;
        let made = refund(payment, &charge, 300);
        let refunded = provider.refund(&made).await.unwrap();

        let found = provider.find_refund(&made).await.unwrap();
        let unknown = provider.find_refund(&refund(payment, &charge, 300)).await.unwrap();

        assert_eq!(found, Some(refunded), "{server:?}");
        assert_eq!(unknown, None, "{server:?}");
    }
}

#[tokio::test]
async fn an_intent_that_needs_authentication_is_found_cancelled_and_declined() {
    let (provider, _) = provider(Server::Emulator).await;
    let request = charge_request("tok_threeDSecureRequired", 1000);

    let first = provider.charge(&request).await.unwrap();
    let found = provider.find_charge(&request.payment_id).await.unwrap();

    assert_eq!(first, ChargeOutcome::Declined("authentication_required"));
    assert_eq!(found, Some(ChargeOutcome::Declined("authentication_required")), "found cancelled, for the same reason");
}

#[tokio::test]
async fn amounts_outside_the_providers_limits_are_refused_for_good() {
    let (provider, _) = provider(Server::Emulator).await;

    let small = provider.charge(&charge_request("tok_visa", 49)).await.unwrap();
    let large = provider.charge(&charge_request("tok_visa", 100_000_000)).await.unwrap();

    assert_eq!((small, large), (ChargeOutcome::Refused, ChargeOutcome::Refused));
}

#[tokio::test]
async fn a_key_in_flight_is_a_conflict_not_an_answer() {
    // Arrange: an emulator whose slow answer keeps the first request running for a second.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut settings = local::provider_emulator::EmulatorSettings::new(KEY);
    settings.slow_answer = Duration::from_secs(1);
    tokio::spawn(local::provider_emulator::serve(listener, settings));
    let keyed = |url: String| async move {
        let form = "amount=1000&currency=usd&confirm=true&payment_method_data[card][token]=tok_timeout";
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Full<hyper::body::Bytes>>();
        let request = hyper::Request::post(format!("{url}/v1/payment_intents"))
            .header("authorization", format!("Bearer {KEY}"))
            .header("idempotency-key", "in-flight")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(form)))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice::<Value>(&bytes).unwrap())
    };

    // Act: the same key while the first runs, and once it has answered.
    let first = tokio::spawn(keyed(url.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = keyed(url.clone()).await;
    let first = first.await.unwrap();
    let after = keyed(url).await;

    // Assert
    assert_eq!((during.0, during.1["error"]["type"].as_str()), (409, Some("idempotency_error")), "{during:?}");
    assert_eq!(first.0, 200);
    assert_eq!(after, first, "the stored answer, once there is one");
}
