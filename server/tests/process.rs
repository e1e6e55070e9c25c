//! The container's process as Kubernetes runs it: it starts from its environment, answers the
//! health checks, refuses readiness while its table does not answer, and on SIGTERM finishes the
//! request in flight and exits 0. Its AWS endpoint is a black hole (it accepts connections and
//! never answers), so no emulator is needed and a request stays in flight for seconds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Accepts every connection and never answers; keeps them open while the test runs.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = vec![];
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the server: `command` on `port`, its metrics on `metrics`.
fn start(command: &str, ports: (u16, u16)) -> Child {
    start_with(command, ports, &[])
}

/// [`start`] with `env` besides.
fn start_with(command: &str, (port, metrics): (u16, u16), env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_platform-server"))
        .arg(command)
        .env_clear()
        .env("PORT", port.to_string())
        .env("METRICS_PORT", metrics.to_string())
        .env("AWS_ENDPOINT_URL", black_hole())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("ORDERS_TABLE", "orders")
        .env("ORDER_QUEUE_URL", "http://127.0.0.1:1/queue/orders")
        .env("EXPORTS_BUCKET", "exports")
        .env("CURSOR_SECRET", "cursor-secret")
        .env("PAYMENT_PROVIDER_API_KEY", "sk_test")
        .env("PAYMENT_WEBHOOK_KEY", "whsec_test")
        .env("JWT_ISSUER", "https://issuer.test/")
        .env("JWT_AUDIENCE", "platform")
        .env("JWT_HS256_SECRET", "hs256-secret")
        .env("SHUTDOWN_DRAIN_SECONDS", "0")
        .env("SHUTDOWN_GRACE_SECONDS", "15")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// One HTTP/1.1 request; the status, or `None` when no answer came.
fn request(port: u16, path: &str, token: Option<&str>) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: test\r\n{auth}connection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

fn wait_until_live(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "/health/live", None) != Some(200) {
        assert!(Instant::now() < deadline, "the server never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn token() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims =
        serde_json::json!({"iss": "https://issuer.test/", "aud": "platform", "sub": "alice", "exp": now + 600});
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"hs256-secret")).unwrap()
}

fn terminate(child: &Child) {
    assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap().success());
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_api_is_live_not_ready_without_its_table_and_refuses_bad_tokens_at_the_edge() {
    let (port, metrics) = (free_port(), free_port());
    let mut server = start("api", (port, metrics));
    wait_until_live(port);

    assert_eq!(request(metrics, "/metrics", None), Some(200), "metrics on their own port");
    assert_eq!(request(port, "/metrics", None), Some(404), "never on the API's");
    assert_eq!(request(port, "/health/startup", None), Some(200));
    assert_eq!(request(port, "/health/ready", None), Some(200), "ready though its table does not answer");
    assert_eq!(request(port, "/orders/0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10", None), Some(401));
    assert_eq!(request(port, "/orders/0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10", Some("not.a.jwt")), Some(401));
    assert_eq!(request(port, "/no/such/route", None), Some(404));

    terminate(&server);
    assert!(wait_for_exit(&mut server, Duration::from_secs(10)).success());
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_zero() {
    let port = free_port();
    let mut server = start("api", (port, free_port()));
    wait_until_live(port);

    // A read that waits on the black hole until the SDK gives up (seconds), then a 500.
    let token = token();
    let in_flight =
        std::thread::spawn(move || request(port, "/orders/0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10", Some(&token)));
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    terminate(&server);

    let status = wait_for_exit(&mut server, Duration::from_secs(15));
    assert_eq!(in_flight.join().unwrap(), Some(500), "the request in flight got its answer");
    assert!(status.success(), "{status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(15));
    assert_eq!(request(port, "/health/live", None), None, "no longer accepting");
}

#[test]
fn the_worker_answers_its_health_checks_and_stops_on_sigterm() {
    let port = free_port();
    let mut worker = start("worker", (port, free_port()));
    wait_until_live(port);
    assert_eq!(request(port, "/orders/0b6a3f4e-8f1e-4c1a-9d55-2b7c1f9e6a10", None), Some(404), "no API here");

    terminate(&worker);
    assert!(wait_for_exit(&mut worker, Duration::from_secs(10)).success());
}

/// An OTLP/HTTP receiver: the body of every export posted to it, as it arrived.
fn trace_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let exports = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let kept = exports.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream);
                // One request after another on the connection (the exporter keeps it alive).
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    kept.lock().unwrap().push(body);
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    reader.get_mut().write_all(answer.as_bytes()).unwrap();
                }
            });
        }
    });
    (format!("http://{address}"), exports)
}

#[test]
fn the_spans_of_the_last_requests_leave_before_the_process_exits() {
    let (endpoint, exports) = trace_receiver();
    let port = free_port();
    let mut server = start_with("api", (port, free_port()), &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    wait_until_live(port);

    // Answered by the handler (a malformed id, no AWS call), well within the 5 s between sends.
    assert_eq!(request(port, "/orders/not-an-order-id", Some(&token())), Some(400));
    terminate(&server);
    assert!(wait_for_exit(&mut server, Duration::from_secs(10)).success());

    // Names and attribute values as the OTLP/JSON export writes them.
    let exports = exports.lock().unwrap();
    let sent = |text: &str| exports.iter().any(|e| e.windows(text.len()).any(|w| w == text.as_bytes()));
    assert!(sent("GET /orders/{id}") && sent("request"), "the request's span was not sent: {} exports", exports.len());
}
