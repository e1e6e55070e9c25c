//! `lambda-bench`: runs each function's release `bootstrap` under a Lambda Runtime API emulator,
//! against the AWS emulator at `AWS_ENDPOINT_URL`, and prints what it measured as a Markdown table.
//! Run it through `bench/run`, which builds the bootstraps and starts the emulator.
//!
//! usage: lambda-bench [--warm N] [--cold N] [--report-orders N,N,...] [--only NAME,...]
//!                     [--server SECONDS --connections N]  (the container server under wrk)
//!                     [--concurrency N,N,...]  (one process given N invocations at once)
//!                     [--first RUNS [--node-peer DIR]]  (init + first invocation at the memory's
//!                     CPU share, behind TLS; with the Node peer built in DIR)
//!                     [--traces]  (each function with OpenTelemetry traces off, then on)

mod concurrency;
mod cpu_share;
mod first;
mod proc;
mod scenarios;
mod server;
mod tls;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use local::otlp_receiver::OtlpReceiver;
use local::runtime_api::{self as runtime, RuntimeApi};
use scenarios::{Scenario, World};
use serde_json::Value;

/// What one bootstrap did.
struct Measured {
    name: String,
    init: Duration,
    warm: Vec<Duration>,
    cpu_per_invocation: Duration,
    peak_rss: u64,
    errors: usize,
    units_per_invocation: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let warm: usize = arg("--warm").and_then(|v| v.parse().ok()).unwrap_or(200);
    let cold: usize = arg("--cold").and_then(|v| v.parse().ok()).unwrap_or(10);
    let only: Option<Vec<String>> = arg("--only").map(|v| v.split(',').map(str::to_owned).collect());
    let report_sizes: Vec<usize> =
        arg("--report-orders").map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect()).unwrap_or_default();
    let bin_dir = PathBuf::from(arg("--bin-dir").unwrap_or_else(|| "target/release".into()));

    let mut world = World::new().await?;
    if let Some(runs) = arg("--first").and_then(|v| v.parse().ok()) {
        let node_peer = arg("--node-peer").map(PathBuf::from);
        let options =
            first::Options { bin_dir: &bin_dir, runs, only: only.as_deref(), node_peer: node_peer.as_deref() };
        return first::measure(&world, warm, options).await;
    }
    if args.iter().any(|a| a == "--traces") {
        return traced(&bin_dir, &mut world, warm, only.as_deref()).await;
    }
    let mut rows = vec![];
    for scenario in world.scenarios(warm).await? {
        if only.as_ref().is_some_and(|o| !o.contains(&scenario.name)) {
            continue;
        }
        eprintln!("measuring {}", scenario.name);
        let init = cold_starts(&bin_dir, &world, &scenario, cold).await?;
        let mut measured = measure(&bin_dir, &world, scenario).await?;
        measured.init = init.unwrap_or(measured.init);
        rows.push(measured);
    }
    print_table(&rows);

    // Lambda Managed Instances: the functions named by --only (or orders-get), each one process
    // given that many invocations at once.
    if let Some(levels) = arg("--concurrency") {
        println!(
            "| function | invocations at once | throughput | CPU / invocation | per CPU-second | peak RSS | errors |"
        );
        println!("|---|---|---|---|---|---|---|");
        for scenario in world.scenarios(warm).await? {
            let wanted = only.as_ref().map_or(scenario.name == "orders-get", |o| o.contains(&scenario.name));
            if !wanted {
                continue;
            }
            for level in levels.split(',').filter_map(|n| n.parse().ok()) {
                concurrency::measure(&bin_dir, &world, &scenario, level).await?;
            }
        }
    }

    if let Some(seconds) = arg("--server").and_then(|v| v.parse().ok()) {
        let connections = arg("--connections").and_then(|v| v.parse().ok()).unwrap_or(16);
        println!(
            "| server | connections | throughput | p50 | p99 | CPU / request | per CPU-second | peak RSS | non-2xx |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        server::measure(&bin_dir, &world, connections, seconds).await?;
    }

    for orders in report_sizes {
        eprintln!("seeding {orders} orders for the report");
        let (scenario, seeded) = world.report_day(orders).await?;
        let measured = measure(&bin_dir, &world, scenario).await?;
        println!(
            "| daily-report | {seeded} orders | {:.1} s | {:.1} MB | {} |",
            measured.warm.first().copied().unwrap_or_default().as_secs_f64(),
            measured.peak_rss as f64 / 1e6,
            if measured.errors == 0 { "ok" } else { "FAILED" },
        );
    }
    Ok(())
}

/// `--traces`: each function measured with traces off and on, one right after the other (so the
/// emulators' state is alike for both), each invocation's spans sent before its answer to a
/// receiver (`local::otlp_receiver`), which the bench counts and drops after each function. Two
/// tables, off then on.
async fn traced(
    bin_dir: &Path,
    world: &mut World,
    warm: usize,
    only: Option<&[String]>,
) -> Result<(), Box<dyn std::error::Error>> {
    let receiver = OtlpReceiver::start().await?;
    let (mut off, mut on) = (vec![], vec![]);
    let (mut exports, mut bytes) = (0, 0);
    let pairs = world.scenarios(warm).await?.into_iter().zip(world.scenarios(warm).await?);
    for (plain, traced) in pairs {
        if only.is_some_and(|o| !o.contains(&plain.name)) {
            continue;
        }
        eprintln!("measuring {} with traces off, then on", plain.name);
        world.otlp = None;
        off.push(measure(bin_dir, world, plain).await?);
        world.otlp = Some(receiver.endpoint());
        on.push(measure(bin_dir, world, traced).await?);
        let sent = receiver.take();
        exports += sent.len();
        bytes += sent.iter().map(|e| e.body.len()).sum::<usize>();
    }
    world.otlp = None;
    println!("\nTraces off:\n");
    print_table(&off);
    println!("\nTraces on: every invocation's spans sent before its answer ({exports} exports, {bytes} bytes).\n");
    print_table(&on);
    Ok(())
}

/// The median init of `n` fresh processes: exec to their first poll for work.
async fn cold_starts(
    bin_dir: &Path,
    world: &World,
    scenario: &Scenario,
    n: usize,
) -> Result<Option<Duration>, Box<dyn std::error::Error>> {
    let mut inits = vec![];
    for _ in 0..n {
        let api = RuntimeApi::start().await?;
        let started = Instant::now();
        let mut child = spawn(bin_dir, world, scenario, &api)?;
        let first = api.init_done(Duration::from_secs(10)).await;
        child.kill().await.ok();
        inits.extend(first.map(|t| t - started));
    }
    Ok((!inits.is_empty()).then(|| median(&mut inits)))
}

/// Starts the scenario's bootstrap with the Lambda environment, polling `api` for work.
fn spawn(
    bin_dir: &Path,
    world: &World,
    scenario: &Scenario,
    api: &RuntimeApi,
) -> Result<tokio::process::Child, Box<dyn std::error::Error>> {
    let binary = bin_dir.join(&scenario.binary);
    let child = tokio::process::Command::new(&binary)
        .envs(world.lambda_env(&scenario.name, api.addr))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    Ok(child)
}

/// Spawns the bootstrap, times its init (exec to first poll) and every invocation.
async fn measure(bin_dir: &Path, world: &World, scenario: Scenario) -> Result<Measured, Box<dyn std::error::Error>> {
    let api = RuntimeApi::start().await?;
    let started = Instant::now();
    let mut child = spawn(bin_dir, world, &scenario, &api)?;
    let pid = child.id().ok_or("the bootstrap exited at once")?;

    let mut errors = 0;
    let mut check = |outcome: runtime::Outcome| {
        if outcome.as_ref().is_err() || outcome.as_ref().is_ok_and(is_failure) {
            errors += 1;
        }
    };
    check(api.invoke(scenario.cold).await);
    let init = api.first_poll().await.map_or(Duration::ZERO, |t| t - started);

    let cpu_before = proc::cpu_time(pid);
    let mut warm = Vec::with_capacity(scenario.warm.len());
    let count = scenario.warm.len();
    for event in scenario.warm {
        let t = Instant::now();
        let outcome = api.invoke(event).await;
        warm.push(t.elapsed());
        check(outcome);
    }
    let cpu = proc::cpu_time(pid).saturating_sub(cpu_before);
    let peak_rss = proc::peak_rss(pid);
    child.kill().await.ok();
    Ok(Measured {
        name: scenario.name,
        init,
        cpu_per_invocation: cpu / count.max(1) as u32,
        warm,
        peak_rss,
        errors,
        units_per_invocation: scenario.units_per_invocation,
    })
}

/// An HTTP response with a 5xx, or a batch response that lists failures.
fn is_failure(response: &Value) -> bool {
    let status = response.get("statusCode").and_then(Value::as_u64).unwrap_or(200);
    let failures = response.get("batchItemFailures").and_then(Value::as_array).map_or(0, Vec::len);
    status >= 500 || failures > 0
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn print_table(rows: &[Measured]) {
    let baseline = rows.iter().find(|r| r.name == "hello").map(|r| r.init);
    println!(
        "| function | init (median) | init vs hello | warm p50 | CPU / invocation | units / s (CPU) | peak RSS | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        let mut warm = row.warm.clone();
        let ratio = baseline.map_or("-".into(), |b| format!("{:.2}x", row.init.as_secs_f64() / b.as_secs_f64()));
        let cpu_ms = row.cpu_per_invocation.as_secs_f64() * 1e3;
        let per_second = if cpu_ms > 0.0 { row.units_per_invocation as f64 * 1e3 / cpu_ms } else { f64::INFINITY };
        println!(
            "| {} | {:.1} ms | {} | {:.2} ms | {:.3} ms | {:.0} | {:.1} MB | {} |",
            row.name,
            row.init.as_secs_f64() * 1e3,
            ratio,
            median(&mut warm).as_secs_f64() * 1e3,
            cpu_ms,
            per_second,
            row.peak_rss as f64 / 1e6,
            row.errors,
        );
    }
}
