//! `make bench` for the gateway itself (issue 14, "Speed"): what the router, and the guard in
//! front of it, add to a query that one subgraph answers.
//!
//! The venues service runs on PostgreSQL (demo org tree) with the Hive Router and its guard in
//! front, as `tongxin run` and the chart deploy them. One client sends the same small query
//! (`orgUnit(id) { id name kind }`, one subgraph, one row by key) three ways, interleaved in
//! rounds so that the machine's noise falls on all three alike:
//!
//! - straight to the venues subgraph (the baseline);
//! - to the router on its own port (router overhead: planning cache hit, one subgraph fetch);
//! - to the guard (what clients reach: admission checks, then the router).
//!
//! Prints p50/p99 of each, the p50 each layer adds, and the target (router: p50 added
//! under 0.3 ms). The guard's admission work alone is measured by `tongxin-guard`'s
//! `admission` bench (target: under 0.05 ms at p50).
//!
//! Figures go to `target/bench/results.json` (`tongxin_testing::bench`).
//! `BENCH_ROUNDS` (default 20) × `BENCH_PER_ROUND` (default 250) requests per way.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tongxin::router::{RouterOptions, RouterProcess, find_binary};
use tongxin_testing::bench::{Figure, Goal, Scenario};
use tongxin_testing::free_port;
use tongxin_venues::demo::{self, paths};

const QUERY: &str = "query Unit($id: ID!) { orgUnit(id: $id) { id name kind } }";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One way in and the latencies it showed.
struct Way {
    label: &'static str,
    url: String,
    samples: Vec<Duration>,
}

async fn ask(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response: Value = client.post(url).json(body).send().await?.json().await?;
    let took = started.elapsed();
    anyhow::ensure!(
        response["data"]["orgUnit"]["name"].is_string(),
        "unexpected answer from {url}: {response}"
    );
    Ok(took)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds = env_number("BENCH_ROUNDS", 20);
    let per_round = env_number("BENCH_PER_ROUND", 250);
    let spawned = tongxin_testing::spawn()
        .service(tongxin_venues::VenuesModule::new(
            tongxin_venues::VenuesSettings {
                pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                ..tongxin_venues::default_settings()
            },
        ))
        .hook(tongxin_venues::app::seed_demo_tree())
        .start()
        .await;
    let dir = tempfile::tempdir()?;
    let subgraph = spawned.service(tongxin_venues::NAME).graphql_url();
    let routes = [(tongxin_venues::NAME, subgraph.clone())];
    let binary = find_binary(None)?;
    let router = RouterProcess::start(RouterOptions {
        binary: &binary,
        work_dir: &dir.path().join("router"),
        listen: format!("127.0.0.1:{}", free_port()).parse()?,
        jwks: spawned.keys().jwks_path(),
        subgraphs: &routes,
        log_file: Some(&dir.path().join("router.log")),
        env: &[],
        persisted_only: false,
        guard: tongxin_guard::GuardSettings {
            // One client sends thousands of requests a second here: the rate limit would
            // measure itself.
            rate_per_second: 0,
            ..tongxin_guard::GuardSettings::default()
        },
    })
    .await?;

    let body = json!({
        "query": QUERY,
        "operationName": "Unit",
        "variables": { "id": demo::unit_id(paths::CAIJIABA).0 },
    });
    let mut ways = [
        Way {
            label: "venues subgraph directly (baseline)",
            url: subgraph,
            samples: Vec::new(),
        },
        Way {
            label: "router",
            url: router.router_url().to_owned(),
            samples: Vec::new(),
        },
        Way {
            label: "guard + router (what clients reach)",
            url: router.url().to_owned(),
            samples: Vec::new(),
        },
    ];
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    // Warm-up: connections, the router's plan cache, the subgraph's statement cache.
    for way in &ways {
        for _ in 0..200 {
            ask(&client, &way.url, &body).await?;
        }
    }
    for _ in 0..rounds {
        for way in &mut ways {
            for _ in 0..per_round {
                way.samples.push(ask(&client, &way.url, &body).await?);
            }
        }
    }

    println!(
        "gateway overhead, one client, {QUERY:?}, {rounds} rounds × {per_round} per way, interleaved:"
    );
    let mut p50s = Vec::new();
    for way in &mut ways {
        way.samples.sort_unstable();
        let (p50, p99) = (
            percentile(&way.samples, 0.50),
            percentile(&way.samples, 0.99),
        );
        p50s.push(p50);
        println!(
            "  {:<40} p50 {:.3} ms, p99 {:.3} ms",
            way.label,
            ms(p50),
            ms(p99)
        );
    }
    let added = |a: Duration, b: Duration| ms(a) - ms(b);
    println!(
        "router adds {:.3} ms at p50 over the subgraph (target < 0.3 ms); the guard adds {:.3} ms over the router; together {:.3} ms ({:.2}× the subgraph's p50)",
        added(p50s[1], p50s[0]),
        added(p50s[2], p50s[1]),
        added(p50s[2], p50s[0]),
        ms(p50s[2]) / ms(p50s[0]),
    );
    let mut s = Scenario::new("gateway/router overhead");
    for way in &ways {
        s.add(
            Figure::new(way.label, ms(percentile(&way.samples, 0.50)), "ms p50")
                .latencies(&way.samples),
        );
    }
    s.add(
        Figure::new(
            "router: p50 added over the subgraph",
            added(p50s[1], p50s[0]),
            "ms",
        )
        .goal(Goal::Below(0.3))
        .note(format!(
            "one client, orgUnit by id, {rounds} rounds × {per_round} per way, interleaved"
        )),
    );
    s.add(Figure::new(
        "guard: p50 added over the router",
        added(p50s[2], p50s[1]),
        "ms",
    ));
    s.save()?;
    router.stop(Duration::from_secs(5)).await?;
    spawned.stop().await;
    Ok(())
}
