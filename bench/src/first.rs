//! The cold start a user waits for: init plus the first invocation, per API function, at the
//! function's configured memory, behind TLS, beside the Node peer under the same conditions.
//!
//! Each run starts a fresh process in a cgroup of its own ([`CpuShare`]): init at burst CPU, as
//! Lambda runs it, then the first invocation and a few warm ones held to the memory's CPU share;
//! the same again at this machine's full CPU. The AWS endpoints are TLS proxies ([`Tls`]) in
//! front of the emulators. Medians of the runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use local::runtime_api::RuntimeApi;
use serde_json::{Value, json};

use crate::cpu_share::CpuShare;
use crate::scenarios::{self, PeerTable, World};
use crate::tls::Tls;
use crate::{is_failure, median};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The routes the first-invocation figures cover: every API function, and hello as the floor.
const FUNCTIONS: [&str; 9] = [
    "hello",
    "orders-create",
    "orders-get",
    "orders-list",
    "orders-update",
    "orders-cancel",
    "payments-create",
    "payments-get",
    "payments-refund",
];
/// Warm invocations timed after the first, per run.
const WARM_PER_RUN: usize = 15;

/// One process to start again and again: what to run, with what, and the events to give it.
struct Subject {
    label: String,
    program: PathBuf,
    args: Vec<String>,
    /// The environment with the AWS endpoints behind TLS, and with them plain.
    tls_env: Vec<(String, String)>,
    plain_env: Vec<(String, String)>,
    memory_mb: u64,
    events: Vec<Value>,
}

/// How a run is held: at the memory's CPU share or the machine's, behind TLS or not.
#[derive(Clone, Copy)]
struct Mode {
    capped: bool,
    tls: bool,
}

/// What one run saw.
struct Run {
    init: Duration,
    first: Duration,
    warm: Duration,
    /// Answers other than 2xx (or a failed batch).
    refused: usize,
}

pub struct Options<'a> {
    pub bin_dir: &'a Path,
    pub runs: usize,
    pub only: Option<&'a [String]>,
    pub node_peer: Option<&'a Path>,
}

pub async fn measure(world: &World, warm: usize, options: Options<'_>) -> Result<()> {
    let tls = Tls::new()?;
    let mut endpoints = vec![];
    for key in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"] {
        if let Ok(plain) = std::env::var(key) {
            endpoints.push((key.to_owned(), tls.front(&plain).await?));
        }
    }
    let trust = |key: &str| (key.to_owned(), tls.ca_file.display().to_string());
    let configured = configured_memory(Path::new("template.yaml"))?;
    // Functions the template does not name (the hello baseline) get Lambda's smallest size.
    let memory = |binary: &str| configured.get(binary).copied().unwrap_or(128);
    let mut subjects = vec![];
    for scenario in world.scenarios(warm.max(options.runs * 3 * (WARM_PER_RUN + 1))).await? {
        if !FUNCTIONS.contains(&scenario.name.as_str()) || options.only.is_some_and(|o| !o.contains(&scenario.name)) {
            continue;
        }
        let memory_mb = memory(&scenario.binary);
        let plain_env = world.lambda_env(&scenario.name, "127.0.0.1:0".parse()?);
        let mut events = vec![scenario.cold];
        events.extend(scenario.warm);
        subjects.push(Subject {
            label: scenario.name.clone(),
            program: options.bin_dir.join(&scenario.binary),
            args: vec![],
            tls_env: with(&plain_env, endpoints.iter().cloned().chain([trust("AWS_CA_BUNDLE")])),
            plain_env,
            memory_mb,
            events,
        });
    }
    // The Node peer runs unless --only leaves it out (`--only orders-get,node-peer` keeps it).
    let peer = options.node_peer.filter(|_| options.only.is_none_or(|o| o.iter().any(|n| n == "node-peer")));
    if let Some(peer) = peer {
        let peer_table = world.peer_table().await?;
        for (handler, ours, event) in node_peer_routes(&peer_table) {
            let mut plain_env = world.lambda_env(ours, "127.0.0.1:0".parse()?);
            plain_env = with(&plain_env, [("ORDERS_TABLE".to_owned(), peer_table.table.clone())]);
            subjects.push(Subject {
                label: format!("Node peer: {handler}"),
                program: peer.join("bootstrap"),
                args: vec![format!("orders.{handler}")],
                tls_env: with(&plain_env, endpoints.iter().cloned().chain([trust("NODE_EXTRA_CA_CERTS")])),
                plain_env,
                memory_mb: memory(ours),
                events: vec![event],
            });
        }
    }

    let capped =
        CpuShare::new().map(drop).map_err(|e| eprintln!("no cgroup for the CPU share ({e}): full CPU only")).is_ok();
    println!(
        "| function | memory | init (burst CPU) | first invocation | warm p50 | init + first vs warm \\
         | full CPU: init + first | full CPU: warm p50 | full CPU, plain HTTP: init + first | not 2xx |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    for subject in &subjects {
        eprintln!("first invocations of {}", subject.label);
        let mut cursor = 0;
        let mut run = async |mode| runs(subject, options.runs, mode, capped, &mut cursor).await.map(|r| summary(&r));
        let at_share = if capped { Some(run(Mode { capped: true, tls: true }).await?) } else { None };
        let full = run(Mode { capped: false, tls: true }).await?;
        let plain = run(Mode { capped: false, tls: false }).await?;
        let (init, first, warm, ratio) = match &at_share {
            Some(s) => {
                (ms(s.init), ms(s.first), ms(s.warm), format!("{:.1}x", (s.init + s.first).div_duration_f64(s.warm)))
            }
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} MB | {init} | {first} | {warm} | {ratio} | {} | {} | {} | {} |",
            subject.label,
            subject.memory_mb,
            ms(full.init + full.first),
            ms(full.warm),
            ms(plain.init + plain.first),
            at_share.as_ref().map_or(0, |s| s.refused) + full.refused + plain.refused,
        );
    }
    Ok(())
}

/// `n` fresh processes of `subject` in `mode`, each given the next events from `cursor` on.
async fn runs(subject: &Subject, n: usize, mode: Mode, cgroups: bool, cursor: &mut usize) -> Result<Vec<Run>> {
    let mut done = vec![];
    for _ in 0..n {
        let api = RuntimeApi::start().await?;
        let mut env = if mode.tls { subject.tls_env.clone() } else { subject.plain_env.clone() };
        env = with(
            &env,
            [
                ("AWS_LAMBDA_RUNTIME_API".to_owned(), api.addr.to_string()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(), subject.memory_mb.to_string()),
                ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
            ],
        );
        let mut command = std::process::Command::new(&subject.program);
        command
            .args(&subject.args)
            .env_clear()
            .envs(env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // Every run in a cgroup where there are cgroups, so the quota is the only difference.
        let share = if cgroups { Some(CpuShare::new()?) } else { None };
        let (started, child) = match &share {
            Some(share) => share.spawn(command)?,
            None => (Instant::now(), command.spawn()?),
        };
        let mut child = Reaped(child);
        let first_poll = api.init_done(Duration::from_secs(30)).await;
        let init = first_poll.ok_or_else(|| format!("{} never polled for work", subject.label))? - started;
        if let (Some(share), true) = (&share, mode.capped) {
            share.limit(subject.memory_mb)?;
        }
        let mut next = || {
            let event = subject.events[*cursor % subject.events.len()].clone();
            *cursor += 1;
            event
        };
        let mut refused = 0;
        let t = Instant::now();
        let outcome = api.invoke(next()).await;
        let first = t.elapsed();
        if !is_2xx(&outcome) {
            refused += 1;
            eprintln!("{}: not 2xx: {outcome:?}", subject.label);
        }
        let mut warm = vec![];
        for _ in 0..WARM_PER_RUN {
            let t = Instant::now();
            let outcome = api.invoke(next()).await;
            warm.push(t.elapsed());
            refused += usize::from(!is_2xx(&outcome));
        }
        child.stop();
        drop(share);
        done.push(Run { init, first, warm: median(&mut warm), refused });
    }
    Ok(done)
}

/// A child process killed and reaped when dropped, whatever happened to the run.
struct Reaped(std::process::Child);

impl Reaped {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A 2xx answer, or a batch with no failures.
fn is_2xx(outcome: &local::runtime_api::Outcome) -> bool {
    outcome.as_ref().is_ok_and(|response| {
        !is_failure(response) && response.get("statusCode").and_then(Value::as_u64).is_none_or(|s| s < 300)
    })
}

/// The medians of each figure over the runs, and every error.
fn summary(runs: &[Run]) -> Run {
    let of = |f: fn(&Run) -> Duration| median(&mut runs.iter().map(f).collect::<Vec<_>>());
    Run {
        init: of(|r| r.init),
        first: of(|r| r.first),
        warm: of(|r| r.warm),
        refused: runs.iter().map(|r| r.refused).sum(),
    }
}

/// `env` with `vars` set, replacing what it had for them.
fn with(env: &[(String, String)], vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let vars: Vec<_> = vars.into_iter().collect();
    let mut env: Vec<_> = env.iter().filter(|(k, _)| !vars.iter().any(|(v, _)| v == k)).cloned().collect();
    env.extend(vars);
    env
}

/// Each function's `MemorySize` in `template.yaml` (its own, else the Globals'), by binary.
fn configured_memory(template: &Path) -> Result<HashMap<String, u64>> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(template)?)?;
    let default = doc["Globals"]["Function"]["MemorySize"].as_u64().ok_or("template.yaml: no Globals MemorySize")?;
    let resources = doc["Resources"].as_mapping().ok_or("template.yaml: no Resources")?;
    Ok(resources
        .values()
        .filter_map(|r| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            Some((binary.to_owned(), r["Properties"]["MemorySize"].as_u64().unwrap_or(default)))
        })
        .collect())
}

/// The reference stack's create, get and list (`../shared/node-peer`), as (handler, our function
/// of the same route, event), on a table of the reference's own design.
fn node_peer_routes(peer: &PeerTable) -> [(&'static str, &'static str, Value); 3] {
    let http = scenarios::http;
    let body = json!({"customerId": scenarios::CUSTOMER,
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}]});
    [
        ("create", "orders-create", http("POST", "/orders", "/orders", Some(&body))),
        ("get", "orders-get", http("GET", "/orders/{id}", &format!("/orders/{}", peer.order_id), None)),
        ("list", "orders-list", http("GET", "/orders", &format!("/orders?customerId={}", scenarios::CUSTOMER), None)),
    ]
}
