//! The container server under load: `platform-server api` (release) against the same emulators,
//! `wrk` from Debian on loopback sending `GET /orders/{id}` for one seeded order, and the server's
//! own CPU time read from `/proc` around the run, so CPU per request compares with the same route
//! as a Lambda (`orders-get` in the table above).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::proc;
use crate::scenarios::World;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const SECRET: &str = "bench-jwt-secret";

/// Runs `wrk` with `connections` for `seconds` and prints one table row.
pub async fn measure(bin_dir: &Path, world: &World, connections: usize, seconds: u64) -> Result<()> {
    let order = world.readable_order().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut env = world.lambda_env("platform-server", "127.0.0.1:9".parse()?);
    env.retain(|(k, _)| !k.starts_with("AWS_LAMBDA"));
    env.extend([
        ("PORT".to_owned(), port.to_string()),
        ("JWT_ISSUER".to_owned(), local::tokens::ISSUER.to_owned()),
        ("JWT_AUDIENCE".to_owned(), local::tokens::AUDIENCE.to_owned()),
        ("JWT_HS256_SECRET".to_owned(), SECRET.to_owned()),
        ("PAYMENT_WEBHOOK_KEY".to_owned(), "whsec_bench".to_owned()),
    ]);
    let binary = bin_dir.join("platform-server");
    let child = tokio::process::Command::new(&binary)
        .arg("api")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id().ok_or("the server exited at once")?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await?;

    let token = token();
    let url = format!("{base}/orders/{order}");
    // Warm the connections and the caches first.
    wrk(&url, &token, connections, 2).await?;
    let cpu_before = proc::cpu_time(pid);
    let output = wrk(&url, &token, connections, seconds).await?;
    let cpu = proc::cpu_time(pid) - cpu_before;
    let rss = proc::peak_rss(pid);

    let requests = field(&output, "requests in").ok_or_else(|| format!("wrk said: {output}"))?;
    let non_2xx = field(&output, "Non-2xx or 3xx responses:").unwrap_or(0.0);
    let throughput = requests / seconds as f64;
    let p50 = latency(&output, "50%").unwrap_or_default();
    let p99 = latency(&output, "99%").unwrap_or_default();
    let cpu_per_request = cpu.as_secs_f64() * 1000.0 / requests;
    println!(
        "| platform-server api, GET /orders/{{id}} | {connections} | {throughput:.0} req/s | {p50:.2} ms | {p99:.2} ms | {cpu_per_request:.3} ms | {:.0} req/s | {:.1} MB | {non_2xx} |",
        1000.0 / cpu_per_request,
        rss as f64 / 1e6,
    );
    Ok(())
}

async fn wait_ready(base: &str) -> Result<()> {
    for _ in 0..200 {
        let status = tokio::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("{base}/health/ready")])
            .output()
            .await?;
        if status.stdout == b"200" {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server never became ready".into())
}

async fn wrk(url: &str, token: &str, connections: usize, seconds: u64) -> Result<String> {
    let output = tokio::process::Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency"])
        .args(["-H", &format!("authorization: Bearer {token}"), url])
        .output()
        .await
        .map_err(|e| format!("wrk (Debian's package): {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The number before `label` in wrk's summary (`12345 requests in 10.00s`), or after it.
fn field(output: &str, label: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.contains(label))?;
    let before = line.split(label).next()?.split_whitespace().last().and_then(|n| n.parse().ok());
    before.or_else(|| line.split(label).nth(1)?.split_whitespace().next()?.parse().ok())
}

/// A percentile of wrk's latency distribution, in milliseconds.
fn latency(output: &str, percentile: &str) -> Option<f64> {
    let value = output.lines().map(str::trim).find(|l| l.starts_with(percentile))?.split_whitespace().nth(1)?;
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        _ => return None,
    })
}

fn token() -> String {
    local::tokens::mint(SECRET, crate::scenarios::CUSTOMER, "orders", 3600)
}
