//! A function's process on Lambda Managed Instances: one bootstrap given `AWS_LAMBDA_MAX_CONCURRENCY`
//! invocations at once, kept that busy for a number of invocations, with its throughput and its
//! own CPU per invocation (from `/proc`), to set beside the container server on the same route.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use local::runtime_api::RuntimeApi;

use crate::proc;
use crate::scenarios::{Scenario, World};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs `scenario`'s warm events with `concurrency` in flight and prints one table row.
pub async fn measure(bin_dir: &Path, world: &World, scenario: &Scenario, concurrency: usize) -> Result<()> {
    let api = RuntimeApi::start().await?;
    let binary = bin_dir.join(&scenario.binary);
    let mut child = tokio::process::Command::new(&binary)
        .envs(world.lambda_env(&scenario.name, api.addr))
        .env(platform::lambda::MAX_CONCURRENCY, concurrency.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id().ok_or("the bootstrap exited at once")?;
    let run = |events: Vec<serde_json::Value>| {
        stream::iter(events).map(|event| api.invoke(event)).buffer_unordered(concurrency).collect::<Vec<_>>()
    };
    // Warm every poller's connections first.
    run(scenario.warm.iter().take(concurrency * 4).cloned().collect()).await;

    let cpu_before = proc::cpu_time(pid);
    let started = Instant::now();
    let outcomes = run(scenario.warm.clone()).await;
    let wall = started.elapsed();
    let cpu = proc::cpu_time(pid).saturating_sub(cpu_before);
    let errors = outcomes.iter().filter(|o| o.as_ref().map_or(true, crate::is_failure)).count();
    let held = api.most_at_once().await;
    let rss = proc::peak_rss(pid);
    child.kill().await.ok();

    let n = outcomes.len().max(1) as f64;
    let cpu_ms = cpu.as_secs_f64() * 1e3 / n;
    println!(
        "| {} | {concurrency} (held {held}) | {:.0} inv/s | {cpu_ms:.3} ms | {:.0} inv/s | {:.1} MB | {errors} |",
        scenario.name,
        n / wall.max(Duration::from_micros(1)).as_secs_f64(),
        if cpu_ms > 0.0 { 1e3 / cpu_ms } else { f64::INFINITY },
        rss as f64 / 1e6,
    );
    Ok(())
}
