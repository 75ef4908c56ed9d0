//! `make bench` for orders. Everything runs as in production, on this machine: PostgreSQL,
//! a NATS server of its own, the venues service (demo org tree, its own database) answering
//! `CoveringCourtyard` over gRPC, the orders service, and the Hive Router in front.
//!
//! 1. `placeOrder` through the gateway (router → orders subgraph → venues routing over gRPC →
//!    one PostgreSQL transaction with the order, its timeline row and its outbox event) with
//!    32 concurrent clients, against pgbench running placeOrder's own database work with the
//!    same 32 clients on the same database in the same run: the duplicate-check SELECT as the
//!    service issues it, then BEGIN, the order INSERT, the unit's arrival counter, the
//!    timeline INSERT, the outbox INSERT, COMMIT (the rows are copies of one the service
//!    wrote during warm-up, so every column and size is the service's own). Repetitions
//!    alternate the two; the figures are the medians. Goal: ≥ 0.5× pgbench. Two reference
//!    loads in the same run show where the time goes: placeOrder sent straight to the orders
//!    subgraph (no gateway), and the gateway answering `{ __typename }` itself (no subgraph,
//!    no database): the most any request through the gateway can reach on this machine.
//! 2. Event latency on the `orderProgress` subscription through the gateway while orders are
//!    placed at 200/s: probe orders are subscribed to, then received by staff. The goal
//!    (p99 under 50 ms) is on the latency from commit to subscriber: from the move's own
//!    timestamp (`occurredAt`, taken before its transaction, so its statements and commit
//!    count too) to the `received` event arriving. The latency from sending the
//!    `receiveOrder` mutation is printed beside it; it adds the request's own way in.
//!
//! Figures go to `target/bench/results.json` (`tongxin_testing::bench`). `BENCH_SECONDS`
//! (default 10) sets how long each phase runs, `BENCH_REPS` (default 3) how many times the
//! placeOrder/pgbench pair repeats. `make profile SCENARIO=placeOrder` runs the first
//! placeOrder phase under `perf record` of this process, where the services run
//! ([`Profiler`]).

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
use tongxin_testing::bench::{self, Figure, Goal, Scenario, median, ms, percentile, post_json};
use tongxin_testing::profile::Profiler;
use tongxin_testing::{Spawned, free_port};
use tongxin_venues::demo;
use uuid::Uuid;

const CLIENTS: usize = 32;
const CAIJIABA: (f64, f64) = (29.3868, 105.5701);
const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id state } }";
const RECEIVE: &str = "mutation($id: ID!) { receiveOrder(orderId: $id) { id state } }";
const PROGRESS: &str =
    "subscription($id: ID!) { orderProgress(orderId: $id) { orderId event state occurredAt } }";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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
        // The config names the manifest relative to services/gateway/; this copy lives
        // elsewhere.
        .env(
            "TONGXIN_GATEWAY_PERSISTED_DOCUMENTS",
            root.join("clients/persisted-documents.json"),
        )
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
                match post_json(&client, &url, &token, &body).await {
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

/// The latest row of `table` (as JSON) that the service wrote: the template of the pgbench
/// script's copies.
async fn template_row(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    order: &str,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT CAST(row_to_json(t) AS text) AS row FROM {table} t ORDER BY {order} DESC LIMIT 1"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("{table} is empty: the warm-up placed no order"))?;
    let text: String = row.try_get("", "row")?;
    match serde_json::from_str(&text)? {
        Value::Object(map) => Ok(map),
        other => anyhow::bail!("{table}: not a row: {other}"),
    }
}

/// `INSERT INTO table (...) VALUES (...)` copying `row`, with `vary` giving the SQL of the
/// columns that must differ per transaction (keys, times, the point); `None` leaves a column
/// to its default.
fn insert_copy(
    table: &str,
    row: &serde_json::Map<String, Value>,
    vary: &[(&str, Option<&str>)],
) -> String {
    let (mut cols, mut vals) = (Vec::new(), Vec::new());
    for (col, value) in row {
        let sql = match vary.iter().find(|(c, _)| c == col) {
            Some((_, None)) => continue,
            Some((_, Some(sql))) => (*sql).to_owned(),
            None => bench::sql_literal(value),
        };
        cols.push(format!("\"{col}\""));
        vals.push(sql);
    }
    format!(
        "INSERT INTO {table} ({}) VALUES ({});",
        cols.join(", "),
        vals.join(", ")
    )
}

/// placeOrder's database work as a pgbench script, built from the rows the service wrote
/// during warm-up.
async fn place_script(db_url: &str) -> anyhow::Result<String> {
    let db = sea_orm::Database::connect(db_url).await?;
    let order = template_row(&db, "orders", "placed_at").await?;
    let timeline = template_row(&db, "order_timeline", "at").await?;
    let outbox = template_row(&db, "outbox_events", "seq").await?;
    let _ = db.close().await;
    let unit = order
        .get("holding_unit_id")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("the template order has no holding unit"))?;
    let category = order
        .get("category_code")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("the template order has no category"))?;
    let uuid = "CAST(gen_random_uuid() AS text)";
    let order_insert = insert_copy(
        "orders",
        &order,
        &[
            ("id", Some("gen_random_uuid()")),
            ("order_no", Some(uuid)),
            ("idempotency_key", Some(uuid)),
            ("citizen", Some("'bench-citizen-' || :client_id")),
            ("lat", Some(":lat")),
            ("lon", Some(":lon")),
            ("placed_at", Some("now()")),
            ("updated_at", Some("now()")),
        ],
    );
    let timeline_insert = insert_copy(
        "order_timeline",
        &timeline,
        &[
            ("id", Some("gen_random_uuid()")),
            ("order_id", Some("gen_random_uuid()")),
            ("at", Some("now()")),
            // The place the counter just handed out; (unit, arrival) is unique.
            ("arrival", Some(":arrival")),
        ],
    );
    let outbox_insert = insert_copy(
        "outbox_events",
        &outbox,
        &[
            ("seq", None),
            ("event_id", Some("gen_random_uuid()")),
            ("created_at", Some("now()")),
            ("published_at", Some("NULL")),
        ],
    );
    // The duplicate check as `orders::earliest_nearby` builds it: 100 m box, then the flat
    // distance, same category, last 24 h, not cancelled, the earliest.
    let radius_deg = 100.0 / tongxin_platform::geo::METRES_PER_DEGREE;
    let lon_scale = CAIJIABA.0.to_radians().cos();
    let half_lon = radius_deg / lon_scale;
    let r2 = radius_deg * radius_deg;
    Ok(format!(
        "\\set lat {lat} + random(0, 400) / 100000.0 - 0.002
\\set lon {lon} + random(0, 400) / 100000.0 - 0.002
SELECT id FROM orders WHERE category_code = '{category}' AND placed_at >= now() - interval '24 hours' AND lat BETWEEN :lat - {radius_deg} AND :lat + {radius_deg} AND lon BETWEEN :lon - {half_lon} AND :lon + {half_lon} AND ((lat - :lat) * (lat - :lat)) + (((lon - :lon) * {lon_scale}) * ((lon - :lon) * {lon_scale})) <= {r2} AND state <> 'cancelled' ORDER BY placed_at ASC LIMIT 1;
BEGIN;
{order_insert}
INSERT INTO unit_arrivals (unit_id, last) VALUES ('{unit}', 1) ON CONFLICT (unit_id) DO UPDATE SET last = unit_arrivals.last + 1 RETURNING last AS arrival \\gset
{timeline_insert}
{outbox_insert}
COMMIT;
",
        lat = CAIJIABA.0,
        lon = CAIJIABA.1,
    ))
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
                    post_json(&client, &url, &token, &place_body(50_000_000 + n))
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
        let placed = post_json(&client, &p.gateway, &citizen, &place_body(90_000_000 + n)).await?;
        let Some(order) = placed["data"]["placeOrder"]["id"].as_str() else {
            anyhow::bail!("probe placeOrder failed: {placed}");
        };
        let sub = format!("s{n}");
        ws.subscribe(&sub, order).await?;
        // The subscription has no acknowledgement: give the router and the subgraph time to
        // open it before the move.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = Instant::now();
        let r = post_json(
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
    let secs = bench::seconds(10);
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let p = Platform::start().await?;
    // Warm-up: connections, plans, the router's query plan cache; its rows are the
    // templates of pgbench's copies.
    let _ = load(&p, &p.gateway, Request::Place, 2).await;
    let script = place_script(&p.orders_db_url).await?;
    let _ = bench::pgbench(&p.orders_db_url, &script, CLIENTS, 1).await?;

    // Alternate the service and its baseline, so the machine's drift falls on both.
    let (mut tps, mut lat, mut errors) = (Vec::new(), Vec::new(), 0);
    let (mut pg_tps, mut pg_lat) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let profiler = Profiler::start(
            if rep == 0 { "bench" } else { "" },
            Profiler::this_process(),
        );
        let (t, l, e) = load(&p, &p.gateway, Request::Place, secs).await;
        profiler.stop().await;
        tps.push(t);
        lat.extend(l);
        errors += e;
        let pg = bench::pgbench(&p.orders_db_url, &script, CLIENTS, secs).await?;
        pg_tps.push(pg.tps);
        pg_lat.extend(pg.latencies);
    }
    lat.sort();
    pg_lat.sort();
    let pg = median(&pg_tps);
    let baseline = "pgbench placeOrder's SQL";

    let mut place = Scenario::new("orders/placeOrder");
    place.add(
        Figure::new(format!("pgbench placeOrder's SQL, {CLIENTS} clients"), pg, "tx/s")
            .latencies(&pg_lat)
            .note(format!(
                "duplicate-check SELECT, BEGIN, INSERT order, arrival counter upsert, INSERT timeline, INSERT outbox, COMMIT; prepared; median of {reps} × {secs} s"
            )),
    );
    place.add(
        Figure::new(
            format!("placeOrder via gateway, {CLIENTS} clients"),
            median(&tps),
            "orders/s",
        )
        .latencies(&lat)
        .baseline(baseline, pg)
        .goal(Goal::RatioAtLeast(0.5))
        .note(format!("{errors} errors; median of {reps} × {secs} s")),
    );

    let e = event_latency(&p, secs).await?;
    let mut progress = Scenario::new("orders/orderProgress latency");
    progress.add(
        Figure::new(
            format!("commit → subscriber p99 at {:.0} orders/s", e.rate),
            ms(percentile(&e.from_commit, 0.99)),
            "ms",
        )
        .latencies(&e.from_commit)
        .goal(Goal::Below(50.0))
        .note(format!(
            "{} probes; from sending receiveOrder: p50 {:.1} ms, p99 {:.1} ms",
            e.from_commit.len(),
            ms(percentile(&e.from_send, 0.50)),
            ms(percentile(&e.from_send, 0.99)),
        )),
    );
    progress.add(Figure::new("missed events", e.missed as f64, "events").goal(Goal::AtMost(0.0)));

    // Two reference points, to show where the time goes: the same load straight to the
    // orders subgraph, and the gateway answering without any subgraph. Last, so they do not
    // change the conditions of the measurements above.
    let (direct, direct_lat, direct_errors) =
        load(&p, &p.orders_graphql, Request::Place, secs).await;
    place.add(
        Figure::new(
            "reference: placeOrder straight to the orders subgraph",
            direct,
            "orders/s",
        )
        .latencies(&direct_lat)
        .baseline(baseline, pg)
        .note(format!("{direct_errors} errors")),
    );
    let (bare, bare_lat, bare_errors) = load(&p, &p.gateway, Request::Typename, secs).await;
    place.add(
        Figure::new(
            "reference: gateway alone ({ __typename })",
            bare,
            "requests/s",
        )
        .latencies(&bare_lat)
        .note(format!("{bare_errors} errors; no subgraph, no database")),
    );
    place.save()?;
    progress.save()?;
    p.stop().await;
    Ok(())
}
