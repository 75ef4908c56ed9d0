//! `make bench` for orders. Everything runs as in production, on this machine: PostgreSQL,
//! a NATS server of its own, the venues service (demo org tree, its own database) answering
//! `CoveringCourtyard` over gRPC, the orders service, and the Hive Router in front.
//!
//! 1. `placeOrder` through the gateway (router → orders subgraph → venues routing over gRPC →
//!    one PostgreSQL transaction with the order, its timeline row and its outbox event) with
//!    32 concurrent clients for a fixed time, against `pgbench` doing a single-row INSERT with
//!    the same 32 clients on the same database in the same run. Prints both TPS, the ratio
//!    (target ≥ 0.5) and placeOrder's p50/p99. Two reference loads in the same run show
//!    where the time goes: placeOrder sent straight to the orders subgraph (no gateway), and
//!    the gateway answering `{ __typename }` itself (no subgraph, no database): the most any
//!    request through the gateway can reach on this machine.
//! 2. Event latency on the `orderProgress` subscription through the gateway while orders are
//!    placed at 200/s: probe orders are subscribed to, then received by staff. The target
//!    (p99 under 50 ms) is on the latency from commit to subscriber: from the move's own
//!    timestamp (`occurredAt`, taken before its transaction, so its statements and commit
//!    count too) to the `received` event arriving. The latency from sending the
//!    `receiveOrder` mutation is printed beside it; it adds the request's own way in.
//!
//! `BENCH_SECONDS` (default 10) sets how long each phase runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;
use tongxin_orders::OrdersSettings;
use tongxin_platform::auth::{DevKeys, Role, TokenRequest};
use tongxin_platform::config::EventsSettings;
use tongxin_testing::{Spawned, free_port};
use tongxin_venues::demo;
use uuid::Uuid;

const CLIENTS: usize = 32;
const CAIJIABA: (f64, f64) = (29.3868, 105.5701);
const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id state } }";
const RECEIVE: &str = "mutation($id: ID!) { receiveOrder(orderId: $id) { id state } }";
const PROGRESS: &str =
    "subscription($id: ID!) { orderProgress(orderId: $id) { orderId event state occurredAt } }";

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The platform as one process plus the router.
struct Platform {
    gateway: String,
    /// The orders subgraph itself, for the same load without the gateway.
    orders_graphql: String,
    gateway_ws: String,
    orders_db_url: String,
    router: Child,
    spawned: Spawned,
    _dir: tempfile::TempDir,
}

impl Platform {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut settings = OrdersSettings {
            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
            volunteers_url: format!("http://127.0.0.1:{}", free_port()),
            ..tongxin_orders::default_settings()
        };
        settings.scheduler.enabled = false;
        let spawned = tongxin_testing::spawn()
            .relay_interval_ms(EventsSettings::default().relay_interval_ms)
            .service(tongxin_venues::VenuesModule::new(
                tongxin_venues::VenuesSettings {
                    pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                    ..tongxin_venues::default_settings()
                },
            ))
            .hook(tongxin_venues::app::seed_demo_tree())
            .service(tongxin_orders::OrdersModule::new(settings))
            .pool_size(tongxin_orders::NAME, 32)
            .hook(tongxin_orders::app::seed_menu())
            .start()
            .await;
        let orders_http = spawned.service(tongxin_orders::NAME).http_addr();
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let router = start_router(&dir, spawned.keys(), listen, orders_http).await?;
        Ok(Self {
            gateway: format!("http://{listen}/graphql"),
            orders_graphql: format!("http://{orders_http}/graphql"),
            gateway_ws: format!("ws://{listen}/graphql"),
            orders_db_url: spawned.database_url(tongxin_orders::NAME).to_owned(),
            router,
            spawned,
            _dir: dir,
        })
    }

    fn token(&self, subject: &str, role: Role, unit: Option<Uuid>) -> String {
        self.spawned
            .keys()
            .sign(&TokenRequest {
                subject,
                roles: &[role],
                unit,
                district: Some("rc"),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(3600),
            })
            .unwrap_or_default()
    }

    async fn stop(mut self) {
        let _ = self.router.kill().await;
        self.spawned.stop().await;
    }
}

async fn start_router(
    dir: &tempfile::TempDir,
    keys: &DevKeys,
    listen: SocketAddr,
    orders_http: SocketAddr,
) -> anyhow::Result<Child> {
    let binary = std::env::var("TONGXIN_ROUTER_BIN").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/tongxin/tools/hive-router-0.3.10/bin/hive_router")
    });
    let root = repo_root().canonicalize()?;
    let work = dir.path().join("router");
    std::fs::create_dir_all(&work)?;
    std::fs::write(work.join("empty-jwks.json"), "{\"keys\":[]}")?;
    let jwks = work.join("jwks.json");
    std::fs::write(&jwks, keys.jwks_json())?;
    let config = work.join("router.config.yaml");
    std::fs::copy(root.join("services/gateway/router.config.yaml"), &config)?;
    let log = std::fs::File::create(work.join("router.log"))?;
    let child = Command::new(binary)
        .current_dir(&work)
        .env("ROUTER_CONFIG_FILE_PATH", &config)
        .env(
            "SUPERGRAPH_FILE_PATH",
            root.join("schema/supergraph.graphql"),
        )
        .env("TONGXIN_GATEWAY_HOST", listen.ip().to_string())
        .env("TONGXIN_GATEWAY_PORT", listen.port().to_string())
        .env("TONGXIN_GATEWAY_JWKS_FILE", &jwks)
        .env(
            "TONGXIN_GATEWAY_SUBGRAPH_ORDERS_URL",
            format!("http://{orders_http}/graphql"),
        )
        .env("TONGXIN_GATEWAY_MAX_LONG_LIVED_CLIENTS", "4096")
        .env_remove("HOST")
        .env_remove("PORT")
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let ready = format!("http://{listen}/readiness");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(&ready).send().await
            && r.status().is_success()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the router did not become ready (see {})", work.display())
}

fn place_body(n: u64) -> Value {
    // Points scattered a few hundred metres around 蔡家坝 so routing does real work.
    let jitter = |k: u64| ((k * 7919) % 100) as f64 / 100.0 * 0.004 - 0.002;
    json!({"query": PLACE, "variables": {"input": {
        "category": "elder_visit",
        "description": "请帮忙",
        "form": [{"key": "people", "value": "1"}],
        "location": {"lat": CAIJIABA.0 + jitter(n), "lon": CAIJIABA.1 + jitter(n / 3)},
        "contactPhone": "138 1234 5678",
        "photos": [],
        "idempotencyKey": format!("bench-{n}"),
    }}})
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    Ok(client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .json()
        .await?)
}

/// What one load phase sends and how it knows a request succeeded.
#[derive(Clone, Copy)]
enum Request {
    /// `placeOrder` (each request a new order).
    Place,
    /// `{ __typename }`: the gateway answers it itself, calling no subgraph.
    Typename,
}

impl Request {
    fn body(self, n: u64) -> Value {
        match self {
            Request::Place => place_body(n),
            Request::Typename => json!({"query": "{ __typename }"}),
        }
    }

    fn ok(self, r: &Value) -> bool {
        match self {
            Request::Place => r["data"]["placeOrder"]["id"].is_string(),
            Request::Typename => r["data"]["__typename"].is_string(),
        }
    }
}

/// One load phase: 32 clients each sending `request` to `url` back to back for `secs`, with
/// a citizen token; (requests per second, sorted latencies, errors).
async fn load(p: &Platform, url: &str, request: Request, secs: u64) -> (f64, Vec<Duration>, usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap_or_default();
    // Keys never repeat across phases: every placement is a new order.
    static PHASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let phase = PHASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, url) = (client.clone(), url.to_owned());
        let token = p.token(&format!("bench-citizen-{c}"), Role::Citizen, None);
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut n) = (Vec::new(), 0usize, 0u64);
            while Instant::now() < until {
                let body = request.body(phase * 100_000_000 + c as u64 * 1_000_000 + n);
                n += 1;
                let t = Instant::now();
                match post(&client, &url, &token, &body).await {
                    Ok(r) if request.ok(&r) => lat.push(t.elapsed()),
                    Ok(r) => {
                        if errors == 0 {
                            eprintln!("request failed: {r}");
                        }
                        errors += 1;
                    }
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("request failed: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, all, errors)
}

/// pgbench with a single-row INSERT, 32 clients, `secs`, on `db_url`: its TPS.
async fn pgbench(db_url: &str, secs: u64) -> anyhow::Result<f64> {
    let setup = sea_orm::Database::connect(db_url).await?;
    use sea_orm::ConnectionTrait;
    setup
        .execute_unprepared(
            "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let _ = setup.close().await;
    let script = tempfile::NamedTempFile::new()?;
    std::fs::write(
        script.path(),
        "INSERT INTO bench_insert (payload) VALUES ('一张订单');\n",
    )?;
    let out = Command::new("pgbench")
        .args(["-n", "-c", "32", "-j", "2", "-T"])
        .arg(secs.to_string())
        .arg("-f")
        .arg(script.path())
        .arg(db_url)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "pgbench printed no tps: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// One graphql-transport-ws connection to the gateway.
struct Ws {
    tx: futures::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Message,
    >,
    rx: futures::stream::SplitStream<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    >,
}

impl Ws {
    async fn connect(url: &str, token: &str) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        let (mut tx, mut rx) = stream.split();
        tx.send(Message::text(
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})
                .to_string(),
        ))
        .await?;
        while let Some(msg) = rx.next().await {
            if let Message::Text(t) = msg? {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "connection_ack" {
                    return Ok(Self { tx, rx });
                }
                anyhow::bail!("no ack: {v}");
            }
        }
        anyhow::bail!("closed before ack")
    }

    async fn subscribe(&mut self, id: &str, order: &str) -> anyhow::Result<()> {
        self.tx
            .send(Message::text(
                json!({"id": id, "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": order}}})
                    .to_string(),
            ))
            .await?;
        Ok(())
    }

    /// Waits for an `event` on subscription `id`, then completes it; when it arrived, and
    /// how long after the move's own timestamp (same machine, same clock).
    async fn wait_event(&mut self, id: &str, event: &str) -> anyhow::Result<(Instant, Duration)> {
        while let Some(msg) = self.rx.next().await {
            if let Message::Text(t) = msg? {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "next"
                    && v["id"] == id
                    && v["payload"]["data"]["orderProgress"]["event"] == event
                {
                    let at = Instant::now();
                    let occurred = v["payload"]["data"]["orderProgress"]["occurredAt"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .ok_or_else(|| anyhow::anyhow!("no occurredAt: {v}"))?;
                    let since_move = (chrono::Utc::now() - occurred.to_utc())
                        .to_std()
                        .unwrap_or_default();
                    self.tx
                        .send(Message::text(
                            json!({"id": id, "type": "complete"}).to_string(),
                        ))
                        .await?;
                    return Ok((at, since_move));
                }
                if v["type"] == "error" {
                    anyhow::bail!("subscription error: {v}");
                }
            }
        }
        anyhow::bail!("closed")
    }
}

/// Phase 2: orders placed at 200/s in the background; probes measure commit → subscriber.
/// What phase 2 measured; latencies sorted.
struct EventLatency {
    /// From the move's timestamp (before its commit) to the subscriber.
    from_commit: Vec<Duration>,
    /// From sending the mutation to the subscriber.
    from_send: Vec<Duration>,
    /// Probes whose event did not arrive within 2 s.
    missed: usize,
    /// The background placements per second actually reached.
    rate: f64,
}

async fn event_latency(p: &Platform, secs: u64) -> anyhow::Result<EventLatency> {
    let client = reqwest::Client::new();
    let stop = CancellationToken::new();
    // The background load: 200 placements a second, each on its own task (open loop).
    let load = {
        let (client, url, stop) = (client.clone(), p.gateway.clone(), stop.clone());
        let token = p.token("bench-load", Role::Citizen, None);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            let (mut n, started) = (0u64, Instant::now());
            let mut inflight = Vec::new();
            while !stop.is_cancelled() {
                tick.tick().await;
                n += 1;
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                inflight.push(tokio::spawn(async move {
                    post(&client, &url, &token, &place_body(50_000_000 + n))
                        .await
                        .is_ok_and(|r| r["data"]["placeOrder"]["id"].is_string())
                }));
            }
            let placed = futures::future::join_all(inflight)
                .await
                .into_iter()
                .filter(|r| matches!(r, Ok(true)))
                .count();
            placed as f64 / started.elapsed().as_secs_f64()
        })
    };
    let citizen = p.token("bench-probe", Role::Citizen, None);
    let staff = p.token(
        "bench-staff",
        Role::Staff,
        Some(demo::unit_id(demo::paths::CAIJIABA).0),
    );
    let mut ws = Ws::connect(&p.gateway_ws, &citizen).await?;
    let (mut from_commit, mut from_send, mut missed) = (Vec::new(), Vec::new(), 0usize);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        let placed = post(&client, &p.gateway, &citizen, &place_body(90_000_000 + n)).await?;
        let Some(order) = placed["data"]["placeOrder"]["id"].as_str() else {
            anyhow::bail!("probe placeOrder failed: {placed}");
        };
        let sub = format!("s{n}");
        ws.subscribe(&sub, order).await?;
        // The subscription has no acknowledgement: give the router and the subgraph time to
        // open it before the move.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = Instant::now();
        let r = post(
            &client,
            &p.gateway,
            &staff,
            &json!({"query": RECEIVE, "variables": {"id": order}}),
        )
        .await?;
        if r["data"]["receiveOrder"]["state"] != "RECEIVED" {
            anyhow::bail!("probe receiveOrder failed: {r}");
        }
        match tokio::time::timeout(Duration::from_secs(2), ws.wait_event(&sub, "received")).await {
            Ok(Ok((at, since_move))) => {
                from_send.push(at - sent);
                from_commit.push(since_move);
            }
            _ => missed += 1,
        }
    }
    stop.cancel();
    let rate = load.await.unwrap_or_default();
    from_commit.sort();
    from_send.sort();
    Ok(EventLatency {
        from_commit,
        from_send,
        missed,
        rate,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = seconds();
    let p = Platform::start().await?;
    // Warm-up: connections, plans, the router's query plan cache.
    let _ = load(&p, &p.gateway, Request::Place, 2).await;

    let (tps, lat, errors) = load(&p, &p.gateway, Request::Place, secs).await;
    let pg = pgbench(&p.orders_db_url, secs).await?;
    let line = |what: &str, tps: f64, lat: &[Duration], errors: usize| {
        println!(
            "{what}, {CLIENTS} clients, {secs} s: {tps:.0} TPS, p50 {:.1} ms, p99 {:.1} ms, {errors} errors, {:.2} of pgbench",
            ms(percentile(lat, 0.50)),
            ms(percentile(lat, 0.99)),
            tps / pg
        );
    };
    println!("pgbench single-row INSERT, {CLIENTS} clients, {secs} s: {pg:.0} TPS");
    line("placeOrder via gateway", tps, &lat, errors);
    println!(
        "ratio placeOrder via gateway / pgbench: {:.2} (target >= 0.5)",
        tps / pg
    );

    let e = event_latency(&p, secs).await?;
    let spread = |lat: &[Duration]| {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(lat, 0.50)),
            ms(percentile(lat, 0.99)),
            ms(lat.last().copied().unwrap_or_default())
        )
    };
    println!(
        "orderProgress event latency at {:.0} orders/s placed, {} probes, {} missed: commit to subscriber {} (target p99 < 50 ms); from sending receiveOrder {}",
        e.rate,
        e.from_commit.len(),
        e.missed,
        spread(&e.from_commit),
        spread(&e.from_send),
    );

    // Two reference points, to show where the time goes: the same load straight to the
    // orders subgraph, and the gateway answering without any subgraph. Last, so they do not
    // change the conditions of the measurements above.
    let (direct, direct_lat, direct_errors) =
        load(&p, &p.orders_graphql, Request::Place, secs).await;
    line(
        "reference: placeOrder straight to the orders subgraph",
        direct,
        &direct_lat,
        direct_errors,
    );
    let (bare, bare_lat, bare_errors) = load(&p, &p.gateway, Request::Typename, secs).await;
    line(
        "reference: gateway alone ({ __typename }, no subgraph)",
        bare,
        &bare_lat,
        bare_errors,
    );
    p.stop().await;
    Ok(())
}
