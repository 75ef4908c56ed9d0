//! `make bench`: the memory of `tongxin run --profile district` (issue 18) — the whole
//! platform in one process on SQLite, loaded with the reference district, under the staff
//! dashboard load (32 clients through the gateway). Goal: the `tongxin` process's peak
//! resident set at most 300 MB; the router beside it is reported on its own line.
//!
//! The district is loaded into a data directory once per run (minutes); `BENCH_DATA_DIR`
//! names one to keep between runs. `BENCH_SECONDS` (default 10) sets the load's length.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_testing::bench::{self, Figure, Goal, Scenario};
use tongxin_testing::free_port;

const CLIENTS: usize = 32;
const DASHBOARD: &str = "query($unitId: ID!) { unitOrders(unitId: $unitId, states: [PLACED, RECEIVED, ESCALATED, DISPATCHED, ACCEPTED, IN_PROGRESS], first: 20) { nodes { id orderNo state categoryCode description holdingUnitPath placedAt overdue courtyard { id name } dispatchedVolunteers { id name starLevel } acceptedVolunteers { id name starLevel } } } }";

fn peak_mib(pid: Option<u32>) -> f64 {
    pid.and_then(bench::peak_rss_mib).unwrap_or(0.0)
}

/// The router `tongxin run` started: the `hive_router` child of `parent`.
fn router_pid(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim().starts_with("hive_router"))
        })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = bench::seconds(10);
    let kept = std::env::var("BENCH_DATA_DIR").ok().map(PathBuf::from);
    let scratch = tempfile::tempdir()?;
    let data = kept.unwrap_or_else(|| scratch.path().join("data"));
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongxin"))
        .args(["run", "--profile", "district", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow::anyhow!("tongxin run has no pid"))?;
    let mut lines = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?,
    )
    .lines();
    let mut tokens = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(1800), async {
        while let Some(line) = lines.next_line().await? {
            let line = line.trim().to_owned();
            if line.starts_with("eyJ") {
                tokens.push(line.clone());
            }
            if let Some(url) = line.strip_prefix("READY ") {
                return anyhow::Ok(url.to_owned());
            }
        }
        anyhow::bail!("tongxin run --profile district exited before it was ready")
    })
    .await??;
    // Keep reading what it prints (its log): a full pipe would stop it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let loaded_in = started.elapsed();
    let at_rest = bench::peak_rss_mib(pid).unwrap_or(0.0);
    // The center's staff (the fourth token printed), whose unit is the district's center.
    let verifier = Verifier::from_jwks_file(&data.join("keys/jwks.json"), "tongxin", "tongxin")?;
    let staff = tokens
        .get(3)
        .ok_or_else(|| anyhow::anyhow!("tongxin run printed {} tokens", tokens.len()))?
        .clone();
    let unit = verifier
        .verify(&staff)?
        .unit
        .ok_or_else(|| anyhow::anyhow!("the center staff token names no unit"))?;

    let client = reqwest::Client::new();
    let body = json!({"query": DASHBOARD, "variables": {"unitId": unit}});
    let first: Value = client
        .post(&url)
        .bearer_auth(&staff)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        first["data"]["unitOrders"]["nodes"].is_array(),
        "dashboard: {first}"
    );

    // One console per client, each with a token of its own (signed with the data dir's
    // key, like the printed ones): the gateway limits requests per token, and one shared
    // token would measure the limiter.
    let keys = DevKeys::load_or_generate(&data.join("keys"))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for i in 0..CLIENTS {
        let token = keys.sign(&TokenRequest {
            subject: &format!("bench-console-{i}"),
            roles: &[Role::Staff],
            unit: Some(unit),
            district: Some("rc"),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: Duration::from_secs(3600),
        })?;
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let (mut done, mut errors) = (0usize, 0usize);
            while Instant::now() < deadline {
                match client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => done += 1,
                    _ => errors += 1,
                }
            }
            (done, errors)
        }));
    }
    let (mut done, mut errors) = (0, 0);
    for w in workers {
        let (d, e) = w.await?;
        done += d;
        errors += e;
    }
    let mut scenario = Scenario::new("tongxin run --profile district");
    scenario.add(
        Figure::new("tongxin process peak RSS under the dashboard load", peak_mib(Some(pid)), "MiB")
            .lower_is_better()
            .goal(Goal::AtMost(300.0))
            .note(format!(
                "{CLIENTS} clients, {secs} s: {:.0} requests/s, {errors} errors; {at_rest:.0} MiB once ready; district loaded and ready in {:.0} s",
                done as f64 / secs as f64,
                loaded_in.as_secs_f64()
            )),
    );
    scenario.add(
        Figure::new("its router's peak RSS", peak_mib(router_pid(pid)), "MiB").lower_is_better(),
    );
    scenario.save()?;
    // SIGTERM, as an operator would stop it.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    Ok(())
}
