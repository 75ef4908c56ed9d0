//! `make bench`: live progress at scale (issue 18) — thousands of citizens each watching
//! their own order in the mini-program while staff move orders at a steady rate.
//!
//! Split mode on this machine ([`split::Split`]: a `tongxin serve` process per service on
//! PostgreSQL, a NATS server of the bench's own, the Hive Router in front). Every watcher is
//! a distinct citizen with a token of its own and an order of its own, subscribed to
//! `orderProgress` over graphql-transport-ws through the router. Watchers are added in
//! steps (`BENCH_WATCHERS`, default 1000,5000,9000); at each step staff move the watched
//! orders up the ladder (receive, escalate, … at the holding unit) at `BENCH_MOVES` a second
//! (default 200) for `BENCH_SECONDS`, and each step reports:
//!
//! - delivery p50/p99 from the move's own timestamp (`occurredAt`, taken before its
//!   transaction) to the item arriving at its watcher;
//! - missed moves: a move whose mutation succeeded and whose item never reached the order's
//!   watcher (must be 0);
//! - memory per 1,000 watchers: the growth of the router's and the orders process's resident
//!   set from before the first watcher;
//! - what each watcher opens: NATS subscriptions (from the server's monitoring endpoint) and
//!   connections from the router to the orders subgraph (from `/proc/net/tcp`).
//!
//! Baseline, in the same run: a plain NATS core subscriber per order (one subject each) on
//! the same machine, messages published at the same rate; its delivery p50/p99 and the NATS
//! server's memory per 1,000 subscriptions.
//!
//! Why 9,000 and not 10,000 by default: this machine's hard limit on open files is 20,000 per
//! process and the router holds two sockets per watcher (the client's and its own WebSocket to
//! the subgraph: Hive Router pools subgraph WebSockets per set of forwarded headers, and each
//! citizen's token differs). `BENCH_ROUTERS=2` puts two routers (two gateway replicas, as a
//! deployment of that size runs them) in front of the same services and spreads the watchers
//! over them, so `BENCH_ROUTERS=2 BENCH_WATCHERS=1000,5000,10000` fits; router memory is then
//! the sum over the routers.

mod split;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tongxin_platform::auth::Role;
use tongxin_testing::bench::{self, Figure, Goal, Scenario};
use tongxin_testing::profile::Profiler;
use tongxin_venues::demo::paths;

use split::{Data, Split, rss_mib};

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";
const PROGRESS: &str =
    "subscription($id: ID!) { orderProgress(orderId: $id) { orderId event version occurredAt } }";
const RECEIVE: &str = "mutation($id: ID!) { receiveOrder(orderId: $id) { id version } }";
const ESCALATE: &str = "mutation($id: ID!, $reason: String!) { escalateOrder(orderId: $id, reason: $reason) { id version } }";
/// Where every order starts and the ladder it climbs.
const LADDER: [&str; 4] = [
    paths::CAIJIABA,
    paths::HONGQIAO,
    paths::CHANGYUAN,
    paths::CENTER,
];
/// Receive and escalate at each level but the top, receive at the top.
const STAGES: usize = LADDER.len() * 2 - 1;
const CAIJIABA: (f64, f64) = (29.3868, 105.5701);

/// How many routers (gateway replicas) the watchers are spread over.
fn routers() -> usize {
    std::env::var("BENCH_ROUTERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

fn levels() -> Vec<usize> {
    std::env::var("BENCH_WATCHERS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 5_000, 9_000])
}

fn moves_per_second() -> u64 {
    std::env::var("BENCH_MOVES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
        .max(1)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Established TCP connections whose local port is `port` (IPv4 and IPv6), from
/// `/proc/net/tcp*`: the connections a server on `port` holds.
fn connections_to(port: u16) -> usize {
    let wanted = format!(":{port:04X}");
    let mut count = 0;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local address, remote address, state (01: established)
            if cols.len() > 3 && cols[1].ends_with(&wanted) && cols[3] == "01" {
                count += 1;
            }
        }
    }
    count
}

/// One delivered item: which order, which version, and how long from its move.
struct Delivered {
    order: String,
    version: i64,
    latency: Duration,
}

/// Opens a watcher: a WebSocket of its own with the citizen's token, subscribed to the
/// order, read by a task of its own that reports every item. Returns once the first item
/// (the order's current move, from the database) arrived: the watch is live from then on.
async fn open_watcher(
    ws_url: &str,
    token: &str,
    order: &str,
    report: mpsc::UnboundedSender<Delivered>,
) -> anyhow::Result<()> {
    let mut socket = split::connect_ws(ws_url, token).await?;
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": order}}});
    let mut first = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(message) = tokio::time::timeout(left, socket.next()).await? else {
            anyhow::bail!("socket closed before the first item");
        };
        let Message::Text(text) = message? else {
            continue;
        };
        let value: Value = serde_json::from_str(&text)?;
        match value["type"].as_str() {
            Some("connection_ack") => socket.send(Message::text(subscribe.to_string())).await?,
            Some("next") => first = true,
            Some("ping") => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            Some("error") | Some("complete") => anyhow::bail!("subscription refused: {value}"),
            _ => {}
        }
    }
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let at = now_ms();
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if value["type"] == "ping" {
                let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
                continue;
            }
            let item = &value["payload"]["data"]["orderProgress"];
            let (Some(order), Some(version), Some(occurred)) = (
                item["orderId"].as_str(),
                item["version"].as_i64(),
                item["occurredAt"]
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()),
            ) else {
                continue;
            };
            let latency = Duration::from_millis((at - occurred.timestamp_millis()).max(0) as u64);
            let delivered = Delivered {
                order: order.to_owned(),
                version,
                latency,
            };
            if report.send(delivered).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// The orders, one per watcher, each placed by its own citizen straight at the orders
/// subgraph (setting up, not measured), 32 at a time.
async fn place_orders(split: &Split, count: usize) -> anyhow::Result<Vec<(String, String)>> {
    let url = split.graphql_url("orders")?;
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..count {
        let citizen = format!("watcher-{i:05}");
        let token = split.token(&citizen, Role::Citizen, None)?;
        let (client, url, gate) = (client.clone(), url.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await?;
            let body = json!({"query": PLACE, "variables": {"input": {
                "category": "elder_visit",
                "description": format!("看望老人 (合成) {i}"),
                "form": [{"key": "people", "value": "1"}],
                "location": {"lat": CAIJIABA.0 + (i % 50) as f64 * 0.00005, "lon": CAIJIABA.1},
                "contactPhone": "138 1234 5678",
                "photos": [],
                "idempotencyKey": format!("watcher-{i}"),
            }}});
            let answer: Value = client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?
                .json()
                .await?;
            let id = answer["data"]["placeOrder"]["id"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("placeOrder failed: {answer}"))?
                .to_owned();
            anyhow::Ok((token, id))
        }));
    }
    let mut placed = Vec::with_capacity(count);
    for task in tasks {
        placed.push(task.await??);
    }
    Ok(placed)
}

/// The next move of an order at `stage` (0-based): receive or escalate at its level.
fn move_at(stage: usize) -> (&'static str, &'static str) {
    let level = LADDER[stage / 2];
    if stage.is_multiple_of(2) {
        (RECEIVE, level)
    } else {
        (ESCALATE, level)
    }
}

/// What one step of moves gave.
struct Step {
    latencies: Vec<Duration>,
    moved: usize,
    missed: usize,
    failed: usize,
}

/// Moves watched orders at `rate` a second for `secs`, then waits for the items to arrive.
async fn drive(
    split: &Split,
    watched: &[String],
    stages: &mut HashMap<String, usize>,
    delivered: &mut mpsc::UnboundedReceiver<Delivered>,
    rate: u64,
    secs: u64,
) -> anyhow::Result<Step> {
    let url = split.graphql_url("orders")?;
    let client = reqwest::Client::new();
    let tokens: HashMap<&str, String> = LADDER
        .iter()
        .map(|p| {
            Ok((
                *p,
                split.token(&format!("bench-staff{p}"), Role::Staff, Some(p))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    // Drop what earlier steps' stragglers reported.
    while delivered.try_recv().is_ok() {}
    let expected: Arc<Mutex<HashSet<(String, i64)>>> = Arc::default();
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(64));
    let total = (rate * secs) as usize;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // Round robin over the watched orders that have a stage left.
    let mut cursor = 0usize;
    let mut tasks = Vec::with_capacity(total);
    let mut sent = 0;
    while sent < total {
        // An order comes round again only after every other watched one: with more
        // watched orders than moves a second, its previous move has long been answered.
        let n = watched.len();
        let Some(k) =
            (0..n).find(|k| stages.get(&watched[(cursor + k) % n]).copied().unwrap_or(0) < STAGES)
        else {
            break;
        };
        let order = &watched[(cursor + k) % n];
        cursor = (cursor + k + 1) % n;
        let stage = stages.entry(order.clone()).or_insert(0);
        let (mutation, level) = move_at(*stage);
        *stage += 1;
        ticker.tick().await;
        let permit = gate.clone().acquire_owned().await?;
        let body = json!({"query": mutation, "variables": {"id": order, "reason": "上报 (压测)"}});
        let (client, url, token) = (client.clone(), url.clone(), tokens[level].clone());
        let (expected, failed, order) = (expected.clone(), failed.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let answer: Option<Value> = match client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
            {
                Ok(r) => r.json().await.ok(),
                Err(_) => None,
            };
            let version = answer.as_ref().and_then(|a| {
                a["data"]
                    .as_object()?
                    .values()
                    .next()?
                    .get("version")?
                    .as_i64()
            });
            match version {
                Some(v) => {
                    expected.lock().await.insert((order, v));
                }
                None => {
                    failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
        sent += 1;
    }
    for task in tasks {
        task.await?;
    }
    // Every item arrives or is missed: wait (bounded) until each expected one came.
    let mut expected = std::mem::take(&mut *expected.lock().await);
    let moved = expected.len();
    let mut latencies = Vec::with_capacity(moved);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !expected.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, delivered.recv()).await {
            Ok(Some(d)) => {
                if expected.remove(&(d.order, d.version)) {
                    latencies.push(d.latency);
                }
            }
            _ => break,
        }
    }
    latencies.sort_unstable();
    Ok(Step {
        latencies,
        moved,
        missed: expected.len(),
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// The baseline: one plain NATS core subscriber per order (its own subject), messages
/// published at `rate` a second for `secs`; delivery latencies and the NATS server's memory
/// per 1,000 subscriptions.
async fn nats_baseline(
    split: &Split,
    subscribers: usize,
    rate: u64,
    secs: u64,
) -> anyhow::Result<(Vec<Duration>, f64)> {
    let client = async_nats::connect(split.nats_url()).await?;
    let before = split.nats_rss_mib();
    let (report, mut delivered) = mpsc::unbounded_channel::<Duration>();
    let mut readers = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let mut subscriber = client.subscribe(format!("bench.watch.{i}")).await?;
        let report = report.clone();
        readers.push(tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let sent: i64 = std::str::from_utf8(&message.payload)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default();
                let _ = report.send(Duration::from_micros((now_micros() - sent).max(0) as u64));
            }
        }));
    }
    client.flush().await?;
    tongxin_platform::events::nats::barrier(&client).await?;
    let per_thousand = (split.nats_rss_mib() - before) / subscribers as f64 * 1000.0;
    let total = rate * secs;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    for n in 0..total {
        ticker.tick().await;
        let subject = format!("bench.watch.{}", n as usize % subscribers);
        client
            .publish(subject, now_micros().to_string().into())
            .await?;
    }
    client.flush().await?;
    let mut latencies = Vec::with_capacity(total as usize);
    let deadline = Instant::now() + Duration::from_secs(10);
    while latencies.len() < total as usize {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, delivered.recv()).await {
            Ok(Some(d)) => latencies.push(d),
            _ => break,
        }
    }
    for reader in readers {
        reader.abort();
    }
    latencies.sort_unstable();
    Ok((latencies, per_thousand))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let levels = levels();
    let most = levels.iter().copied().max().unwrap_or(0);
    let rate = moves_per_second();
    let secs = bench::seconds(10);
    let router_env = [("TONGXIN_GATEWAY_MAX_LONG_LIVED_CLIENTS", "30000".to_owned())];
    let split = Split::start(Data::Demo, &router_env).await?;
    let mut replicas = Vec::new();
    for i in 1..routers() {
        replicas.push(
            split
                .another_router(&format!("router-{i}"), &router_env)
                .await?,
        );
    }
    println!("placing {most} orders, one per watcher …");
    let started = Instant::now();
    let placed = place_orders(&split, most).await?;
    println!("  placed in {:.0} s", started.elapsed().as_secs_f64());

    let mut scenario = Scenario::new("live progress at scale");
    let (baseline, nats_per_thousand) = nats_baseline(&split, most, rate, secs).await?;
    let (base_p50, base_p99) = (
        bench::ms(bench::percentile(&baseline, 0.50)),
        bench::ms(bench::percentile(&baseline, 0.99)),
    );
    scenario.add(
        Figure::new(
            format!("NATS core subscriber per order ({most}), delivery p99"),
            base_p99,
            "ms",
        )
        .lower_is_better()
        .p50_p99(base_p50, base_p99)
        .note(format!(
            "baseline: {} of {} published at {rate}/s arrived; nats-server {:.2} MiB per 1,000 subscriptions",
            baseline.len(),
            rate * secs,
            nats_per_thousand
        )),
    );

    let ws_urls: Vec<String> = std::iter::once(split.router_url())
        .chain(replicas.iter().map(|r| r.router_url()))
        .map(|url| url.replacen("http://", "ws://", 1))
        .collect();
    let router_pids: Vec<Option<u32>> = std::iter::once(split.router_pid())
        .chain(replicas.iter().map(|r| r.pid()))
        .collect();
    let routers_rss = || router_pids.iter().map(|&pid| rss_mib(pid)).sum::<f64>();
    let orders_port = split.http_port("orders")?;
    let (router_rss0, orders_rss0) = (routers_rss(), rss_mib(split.pid("orders")));
    let (subs0, conns0) = (
        split.nats_subscriptions().await?,
        connections_to(orders_port),
    );
    let (report, mut delivered) = mpsc::unbounded_channel();
    let mut stages: HashMap<String, usize> = HashMap::new();
    let mut open = 0;
    for level in levels {
        println!("opening watchers up to {level} …");
        let gate = Arc::new(Semaphore::new(64));
        let mut tasks = Vec::new();
        for (n, (token, order)) in placed[open..level.min(placed.len())].iter().enumerate() {
            let ws_url = ws_urls[(open + n) % ws_urls.len()].clone();
            let (token, order, report) = (token.clone(), order.clone(), report.clone());
            let permit = gate.clone().acquire_owned().await?;
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                open_watcher(&ws_url, &token, &order, report).await
            }));
        }
        let mut refused = 0;
        for task in tasks {
            if task.await?.is_err() {
                refused += 1;
            }
        }
        open = level.min(placed.len());
        let watching = open - refused;
        let per_thousand = |now: f64, then: f64| (now - then) / watching.max(1) as f64 * 1000.0;
        let router_rss = routers_rss();
        let orders_rss = rss_mib(split.pid("orders"));
        let subs = split.nats_subscriptions().await?;
        let conns = connections_to(orders_port);

        let watched: Vec<String> = placed[..open].iter().map(|(_, id)| id.clone()).collect();
        let profilers = [
            Profiler::start("orders", split.pid("orders")),
            Profiler::start("router", split.router_pid()),
        ];
        let step = drive(&split, &watched, &mut stages, &mut delivered, rate, secs).await?;
        for profiler in profilers {
            profiler.stop().await;
        }
        let (p50, p99) = (
            bench::ms(bench::percentile(&step.latencies, 0.50)),
            bench::ms(bench::percentile(&step.latencies, 0.99)),
        );
        scenario.add(
            Figure::new(format!("{watching} watchers, delivery p99"), p99, "ms")
                .lower_is_better()
                .p50_p99(p50, p99)
                .baseline("NATS core subscriber per order, p99", base_p99)
                .goal(Goal::Below(200.0))
                .note(format!(
                    "{} moves at {rate}/s ({} failed), {} watchers refused",
                    step.moved, step.failed, refused
                )),
        );
        scenario.add(
            Figure::new(
                format!("{watching} watchers, missed moves"),
                step.missed as f64,
                "moves",
            )
            .lower_is_better()
            .goal(Goal::AtMost(0.0)),
        );
        scenario.add(
            Figure::new(
                format!(
                    "{watching} watchers, router memory per 1,000 ({} routers)",
                    ws_urls.len()
                ),
                per_thousand(router_rss, router_rss0),
                "MiB",
            )
            .lower_is_better(),
        );
        scenario.add(
            Figure::new(
                format!("{watching} watchers, orders service memory per 1,000"),
                per_thousand(orders_rss, orders_rss0),
                "MiB",
            )
            .lower_is_better()
            .baseline("nats-server per 1,000 subscriptions", nats_per_thousand),
        );
        scenario.add(
            Figure::new(
                format!("{watching} watchers, NATS subscriptions per watcher"),
                (subs.saturating_sub(subs0)) as f64 / watching.max(1) as f64,
                "subscriptions",
            )
            .lower_is_better()
            .note(
                "the orders service watches the bus once for all its feeds (service/live/hub.rs)",
            ),
        );
        scenario.add(
            Figure::new(
                format!("{watching} watchers, router→orders connections per watcher"),
                (conns.saturating_sub(conns0)) as f64 / watching.max(1) as f64,
                "connections",
            )
            .lower_is_better()
            .note(
                "Hive Router 0.3.10 pools subgraph WebSockets per forwarded headers: one per token",
            ),
        );
    }
    scenario.save()?;
    for replica in replicas {
        replica.stop(Duration::from_secs(5)).await?;
    }
    split.stop().await;
    Ok(())
}
