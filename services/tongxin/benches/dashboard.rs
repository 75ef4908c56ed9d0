//! `make bench`: the staff dashboard (issue 18) and the memory of every process under it.
//!
//! Split mode, as production runs it, on this machine: each service its own `tongxin serve`
//! process on its own PostgreSQL database, a NATS server of this bench's own, the Hive Router
//! in front; all on free loopback ports ([`split::Split`]). The data is the reference district
//! (`tongxin seed --profile district`, loaded before the services start), with [`top_up`]'s
//! open orders at 蔡家坝 so a page of 100 is full.
//!
//! The query is what a staff console sends for its unit: the unit's open orders with
//! citizen-safe fields (orders), the dispatched and accepted volunteers' names and star
//! levels (volunteers, through `_entities`), the courtyard's name (venues, through
//! `_entities`). 32 clients send it back to back through the router at page size 20, then
//! at 100: requests/s, p50/p99, and the subgraph calls per request, counted from every
//! service's own `tongxin_requests_total` (HTTP: subgraph fetches; gRPC: calls between
//! services), which must not grow with the page size.
//!
//! Baseline: pgbench running the same reads as one SQL query per service (the orders page,
//! the volunteers and their stars, the courtyard units) at 32 clients. The three services'
//! tables are copied into one scratch database for it (`pg_dump -t` of each), since one
//! pgbench script runs on one database. Goal: ≥ 0.3× the baseline. Repetitions alternate
//! the two; figures are medians.
//!
//! Memory: the peak resident set (`VmHWM`) of each service process and of the router once
//! the load has run.
//!
//! `BENCH_SECONDS` (default 10) sets each phase, `BENCH_REPS` (default 3) the repetitions.

mod split;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::Command;
use tongxin_platform::auth::Role;
use tongxin_testing::TestDb;
use tongxin_testing::bench::{self, Figure, Goal, Scenario, median, post_json};
use tongxin_testing::profile::Profiler;
use tongxin_venues::demo::{self, paths};

use split::{Data, Split};

const CLIENTS: usize = 32;
/// Open orders placed on top of the district's at 蔡家坝, so a page of 100 is full.
const TOP_UP: usize = 150;

const DASHBOARD: &str = "query Dashboard($unitId: ID!, $first: Int!) {
  unitOrders(unitId: $unitId, states: [PLACED, RECEIVED, ESCALATED, DISPATCHED, ACCEPTED, IN_PROGRESS], first: $first) {
    nodes {
      id orderNo state categoryCode description holdingUnitPath placedAt receiveDeadline overdue
      courtyard { id name }
      dispatchedVolunteers { id name starLevel }
      acceptedVolunteers { id name starLevel }
    }
  }
}";

/// `TOP_UP` open orders at 蔡家坝小院 through the gateway, two in three received and
/// dispatched to two volunteers of the demo registry, so that a page of 100 is full and
/// names must be resolved (the demo alone has nine orders).
async fn top_up(split: &Split) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = split.router_url();
    let citizen = split.token("bench-citizen", Role::Citizen, None)?;
    let staff = split.token("bench-center-staff", Role::Staff, Some(paths::CENTER))?;
    let volunteers = post_json(
        &client,
        url,
        &staff,
        &json!({"query": "{ volunteers(status: ACTIVE, first: 50) { nodes { id } } }"}),
    )
    .await?;
    let ids: Vec<String> = volunteers["data"]["volunteers"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(
        ids.len() >= 2,
        "the demo registry has no volunteers: {volunteers}"
    );
    for i in 0..TOP_UP {
        let placed = post_json(
            &client,
            url,
            &citizen,
            &json!({
                "query": "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
                "variables": {"input": {
                    "category": "elder_visit",
                    "description": format!("看望老人 (合成) {i}"),
                    "form": [{"key": "people", "value": "1"}],
                    "location": {"lat": 29.3868 + (i % 10) as f64 * 0.0001, "lon": 105.5701},
                    "contactPhone": "138 1234 5678",
                    "photos": [],
                    "idempotencyKey": format!("dashboard-{i}"),
                }},
            }),
        )
        .await?;
        let id = placed["data"]["placeOrder"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("placeOrder failed: {placed}"))?
            .to_owned();
        if i % 3 == 0 {
            continue;
        }
        let received = post_json(
            &client,
            url,
            &staff,
            &json!({
                "query": "mutation($id: ID!) { receiveOrder(orderId: $id, note: \"\") { id } }",
                "variables": {"id": id},
            }),
        )
        .await?;
        anyhow::ensure!(
            received["data"]["receiveOrder"]["id"].is_string(),
            "receiveOrder failed: {received}"
        );
        let pair = [ids[i % ids.len()].clone(), ids[(i + 1) % ids.len()].clone()];
        let dispatched = post_json(&client, url, &staff, &json!({
            "query": "mutation($id: ID!, $v: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $v, note: \"\") { id } }",
            "variables": {"id": id, "v": pair},
        }))
        .await?;
        anyhow::ensure!(
            dispatched["data"]["dispatchOrder"]["id"].is_string(),
            "dispatchOrder failed: {dispatched}"
        );
    }
    Ok(())
}

/// 32 clients, each a staff member of 蔡家坝 with a token of their own, sending the dashboard
/// query with page size `first` for `secs`: (requests/s, sorted latencies, errors, rows in a
/// page). Distinct tokens matter: the router merges identical subgraph requests in flight,
/// and 32 consoles of one account would measure that instead.
async fn load(
    split: &Split,
    first: usize,
    secs: u64,
) -> anyhow::Result<(f64, Vec<Duration>, usize, usize)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default();
    let body = json!({"query": DASHBOARD, "variables": {"unitId": demo::unit_id(paths::CAIJIABA).0, "first": first}});
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let token = split.token(
            &format!("bench-courtyard-staff-{c}"),
            Role::Staff,
            Some(paths::CAIJIABA),
        )?;
        let (client, url, body) = (client.clone(), split.router_url().to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut rows) = (Vec::new(), 0usize, 0usize);
            while Instant::now() < until {
                let t = Instant::now();
                match post_json(&client, &url, &token, &body).await {
                    Ok(r)
                        if r["errors"].is_null() && r["data"]["unitOrders"]["nodes"].is_array() =>
                    {
                        lat.push(t.elapsed());
                        rows = r["data"]["unitOrders"]["nodes"]
                            .as_array()
                            .map_or(0, Vec::len);
                    }
                    other => {
                        if errors == 0 {
                            eprintln!("dashboard request failed: {other:?}");
                        }
                        errors += 1;
                    }
                }
            }
            (lat, errors, rows)
        }));
    }
    let (mut all, mut errors, mut rows) = (Vec::new(), 0, 0);
    for t in tasks {
        if let Ok((lat, e, r)) = t.await {
            all.extend(lat);
            errors += e;
            rows = rows.max(r);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    Ok((all.len() as f64 / elapsed, all, errors, rows))
}

/// One database holding copies of the three services' tables the dashboard reads, for the
/// pgbench baseline; dropped with the returned handle.
async fn baseline_db(split: &Split) -> anyhow::Result<TestDb> {
    let db = TestDb::new().await;
    for (service, tables) in [
        ("orders", &["orders"][..]),
        ("volunteers", &["volunteers", "volunteer_stats"][..]),
        ("venues", &["org_units"][..]),
    ] {
        let mut dump = Command::new("pg_dump");
        dump.arg("--no-owner").arg("--no-privileges");
        for t in tables {
            dump.arg("-t").arg(t);
        }
        let out = dump.arg(split.db_url(service)?).output().await?;
        anyhow::ensure!(
            out.status.success(),
            "pg_dump {service}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut psql = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", db.url()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = psql.stdin.take() {
            use tokio::io::AsyncWriteExt;
            stdin.write_all(&out.stdout).await?;
        }
        let done = psql.wait_with_output().await?;
        anyhow::ensure!(
            done.status.success(),
            "restoring {service}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    Ok(db)
}

/// The dashboard's reads, one SQL query per service, for a page of `first`: the ids the
/// second and third read need are those of the page itself (the data does not change while
/// the bench runs).
async fn baseline_script(db_url: &str, first: usize) -> anyhow::Result<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let path = paths::CAIJIABA;
    let states = "'placed', 'received', 'escalated', 'dispatched', 'accepted', 'in_progress'";
    let orders = format!(
        "SELECT id, order_no, state, category_code, description, holding_unit_path, placed_at, deadline_at, courtyard_id, dispatched, accepted \
         FROM orders WHERE (holding_unit_path = '{path}' OR holding_unit_path LIKE '{path}/%' OR routed_path = '{path}' OR routed_path LIKE '{path}/%') \
         AND state IN ({states}) ORDER BY id DESC LIMIT {first}"
    );
    let db = sea_orm::Database::connect(db_url).await?;
    let ids = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT CAST(coalesce(string_agg(DISTINCT v, ','), '') AS text) AS volunteers, CAST(coalesce(string_agg(DISTINCT CAST(courtyard_id AS text), ','), '') AS text) AS units \
                 FROM ({orders}) page LEFT JOIN LATERAL (SELECT json_array_elements_text(CAST(page.dispatched AS json)) UNION SELECT json_array_elements_text(CAST(page.accepted AS json))) AS ids(v) ON true"
            ),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no page"))?;
    let _ = db.close().await;
    let quoted = |list: String| {
        let items: Vec<String> = list
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| format!("'{s}'"))
            .collect();
        if items.is_empty() {
            "NULL".to_owned()
        } else {
            items.join(", ")
        }
    };
    let volunteers = quoted(ids.try_get("", "volunteers")?);
    let units = quoted(ids.try_get("", "units")?);
    Ok(format!(
        "{orders};\n\
         SELECT v.id, v.name, v.home_unit_path, s.star_level FROM volunteers v LEFT JOIN volunteer_stats s ON s.volunteer_id = v.id WHERE v.id IN ({volunteers});\n\
         SELECT id, name FROM org_units WHERE id IN ({units});\n"
    ))
}

fn peak(name: &str, pid: Option<u32>) -> Figure {
    let mib = pid.and_then(bench::peak_rss_mib);
    Figure::new(format!("peak RSS: {name}"), mib.unwrap_or(f64::NAN), "MiB").note(
        if mib.is_some() {
            "VmHWM after the dashboard load"
        } else {
            "process gone: not measured"
        },
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = bench::seconds(10);
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let split = Split::start(Data::District, &[]).await?;
    top_up(&split).await?;
    let client = reqwest::Client::new();

    let baseline = baseline_db(&split).await?;
    let script = baseline_script(baseline.url(), 20).await?;
    // Warm-up: connections, the router's plans, the services' statement caches.
    let _ = load(&split, 20, 2).await?;
    let _ = bench::pgbench(baseline.url(), &script, CLIENTS, 1).await?;

    let (mut rates, mut lat, mut errors, mut rows) = (Vec::new(), Vec::new(), 0, 0);
    let (mut pg_rates, mut pg_lat) = (Vec::new(), Vec::new());
    let mut calls_20 = (0.0, 0.0, 0usize);
    for _ in 0..reps {
        let before = split.requests(&client).await?;
        // `make profile SCENARIO=dashboard` samples the named process during each page-20 load.
        let profilers = [
            Profiler::start("orders", split.pid("orders")),
            Profiler::start("volunteers", split.pid("volunteers")),
            Profiler::start("venues", split.pid("venues")),
            Profiler::start("router", split.router_pid()),
        ];
        let (r, l, e, n) = load(&split, 20, secs).await?;
        for profiler in profilers {
            profiler.stop().await;
        }
        let after = split.requests(&client).await?;
        // Each scrape is counted by the next one: one per service.
        let scrapes = split.services.len() as f64;
        calls_20.0 += after.0 - before.0 - scrapes;
        calls_20.1 += after.1 - before.1;
        calls_20.2 += l.len() + e;
        rates.push(r);
        lat.extend(l);
        errors += e;
        rows = n;
        let pg = bench::pgbench(baseline.url(), &script, CLIENTS, secs).await?;
        pg_rates.push(pg.tps);
        pg_lat.extend(pg.latencies);
    }
    lat.sort();
    pg_lat.sort();
    let before = split.requests(&client).await?;
    let (r100, l100, e100, rows100) = load(&split, 100, secs).await?;
    let after = split.requests(&client).await?;
    let scrapes = split.services.len() as f64;
    let per = |calls: f64, requests: usize| calls / requests.max(1) as f64;
    let http_20 = per(calls_20.0, calls_20.2);
    let grpc_20 = per(calls_20.1, calls_20.2);
    let http_100 = per(after.0 - before.0 - scrapes, l100.len() + e100);
    let grpc_100 = per(after.1 - before.1, l100.len() + e100);

    let mut s = Scenario::new("gateway/staff dashboard");
    let pg = median(&pg_rates);
    s.add(
        Figure::new(format!("pgbench: the three services' reads, {CLIENTS} clients"), pg, "tx/s")
            .latencies(&pg_lat)
            .note(format!("orders page of 20, volunteers with stars, courtyard units; one copy database; median of {reps} × {secs} s")),
    );
    s.add(
        Figure::new(
            format!("dashboard via router, page 20 ({rows} rows), {CLIENTS} clients"),
            median(&rates),
            "requests/s",
        )
        .latencies(&lat)
        .baseline("pgbench three reads", pg)
        .goal(Goal::RatioAtLeast(0.3))
        .note(format!("{errors} errors; median of {reps} × {secs} s")),
    );
    s.add(
        Figure::new(
            format!("dashboard via router, page 100 ({rows100} rows)"),
            r100,
            "requests/s",
        )
        .latencies(&l100)
        .note(format!("{e100} errors; one run of {secs} s")),
    );
    s.add(
        Figure::new("subgraph calls per request, page 20", http_20, "calls").note(format!(
            "gRPC calls between services per request: {grpc_20:.2}"
        )),
    );
    s.add(
        Figure::new("subgraph calls per request, page 100", http_100, "calls")
            .baseline("page 20", http_20)
            .lower_is_better()
            .goal(Goal::AtMost(http_20 + 0.05))
            .note(format!(
                "must not grow with the page size; gRPC calls per request: {grpc_100:.2}"
            )),
    );
    s.save()?;

    let mut m = Scenario::new("memory under the dashboard load");
    for svc in &split.services {
        m.add(peak(
            &format!("tongxin serve {}", svc.name),
            split.pid(svc.name),
        ));
    }
    m.add(peak("hive router", split.router.pid()));
    m.save()?;
    drop(baseline);
    split.stop().await;
    Ok(())
}
