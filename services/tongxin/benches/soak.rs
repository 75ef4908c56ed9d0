//! `make soak` (issue 18): mixed load at a steady rate for ten minutes, then a one-page
//! report: errors, memory over time, outbox backlog and consumer lag drained at the end.
//!
//! Split mode on this machine ([`split::Split`], demo data). Every second, at a steady rate:
//!
//! - `SOAK_ORDERS` (default 2) orders start their whole life through the router, each by a
//!   citizen of its own who watches it live (`orderProgress` over graphql-transport-ws):
//!   placed, received by the courtyard, dispatched to the demo volunteer, accepted, started,
//!   completed with hours, rated. The watcher must see all seven moves;
//! - `SOAK_READS` (default 20) staff dashboard reads (the courtyard's open orders with
//!   volunteers and courtyard names, three subgraphs);
//! - `SOAK_BOOKINGS` (default 1) legal-aid bookings, each by a citizen of its own: the free
//!   slots of a demo station's service for the coming weeks (`availableSlots`), one of the
//!   first few booked with an idempotency key (`bookAppointment`); every tenth sent twice,
//!   as a client that timed out retries, and must get the same appointment back; three in
//!   four cancelled again (`cancelAppointment`), so the demo stations' slots last the run.
//!   Every twentieth has a rival client booking the same slot at the same instant. Two
//!   clients on one slot are an expected CONFLICT (the loser reads the slots again and tries
//!   once more; a rival gives up), not an error.
//!
//! Every 10 s it samples each process's resident set, the services' outbox backlog (their
//! `tongxin_outbox_backlog` gauge) and the consumers' lag (JetStream `num_pending` plus
//! `num_ack_pending`). Passing means: no error other than an expected conflict, no missed
//! move, memory after warm-up (the first tenth) growing under 10 %, and backlog and lag back
//! to zero within a minute of the load stopping. The report goes to stdout and
//! `target/bench/soak.md`; the figures into `results.json`.
//!
//! `SOAK_SECONDS` (default 600) sets the duration.

mod split;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tongxin_platform::auth::Role;
use tongxin_testing::bench::{Figure, Goal, Scenario, results_path};
use tongxin_venues::demo::paths;

use split::{Data, Split, rss_mib};

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";
/// From the first move, so a watcher that connects late still sees every one.
const PROGRESS: &str =
    "subscription($id: ID!) { orderProgress(orderId: $id, afterVersion: 0) { event version } }";
const SLOTS: &str = "query($s: ID!, $svc: LegalService!, $from: DateTime!, $to: DateTime!) { availableSlots(stationId: $s, service: $svc, from: $from, to: $to) { startsAt } }";
const BOOK: &str =
    "mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelAppointment(id: $id) { id status } }";
const STATIONS: &str = "{ legalAidStations(first: 100) { nodes { id services } } }";
const DASHBOARD: &str = "query($unitId: ID!) { unitOrders(unitId: $unitId, states: [PLACED, RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS], first: 20) { nodes { id orderNo state courtyard { name } dispatchedVolunteers { name starLevel } } } }";
/// The moves after placement a watcher must see, in order.
const LIFE: [&str; 6] = [
    "received",
    "dispatched",
    "accepted",
    "started",
    "completed",
    "rated",
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What went wrong, by kind.
#[derive(Default)]
struct Tally {
    lives: AtomicUsize,
    reads: AtomicUsize,
    booked: AtomicUsize,
    cancelled: AtomicUsize,
    retried: AtomicUsize,
    conflicts: AtomicUsize,
    no_slot: AtomicUsize,
    missed: AtomicUsize,
    errors: Mutex<BTreeMap<String, usize>>,
}

impl Tally {
    async fn error(&self, what: impl Into<String>) {
        *self.errors.lock().await.entry(what.into()).or_default() += 1;
    }
}

/// Tokens and ids every task uses.
struct Actors {
    gateway: String,
    ws: String,
    courtyard: String,
    volunteer: String,
    volunteer_id: String,
    unit_id: String,
    /// The legal-aid desks with slots in the coming weeks: (station id, service).
    desks: Vec<(String, String)>,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let answer: Value = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await?
        .json()
        .await?;
    if let Some(error) = answer["errors"].get(0) {
        let code = error["extensions"]["code"].as_str().unwrap_or("NO_CODE");
        anyhow::bail!("{code}: {}", error["message"]);
    }
    Ok(answer)
}

/// A watcher of one order: connects, subscribes, and collects the events it sees until the
/// order is rated or `deadline`.
async fn watch(
    ws: &str,
    token: &str,
    order: &str,
    deadline: Instant,
) -> anyhow::Result<Vec<String>> {
    let mut socket = split::connect_ws(ws, token).await?;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(message)) = tokio::time::timeout(left, socket.next()).await else {
            return Ok(seen);
        };
        let Message::Text(text) = message? else {
            continue;
        };
        let value: Value = serde_json::from_str(&text)?;
        match value["type"].as_str() {
            Some("connection_ack") => {
                let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": order}}});
                socket.send(Message::text(subscribe.to_string())).await?;
            }
            Some("next") => {
                if let Some(event) = value["payload"]["data"]["orderProgress"]["event"].as_str() {
                    seen.push(event.to_owned());
                    if event == "rated" {
                        return Ok(seen);
                    }
                }
            }
            Some("ping") => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            Some("error") => anyhow::bail!("subscription refused: {value}"),
            _ => {}
        }
    }
}

/// One order's whole life, watched by its citizen.
async fn life(n: u64, split: Arc<Split>, actors: Arc<Actors>, tally: Arc<Tally>) {
    let client = reqwest::Client::new();
    let citizen = match split.token(&format!("soak-citizen-{n}"), Role::Citizen, None) {
        Ok(t) => t,
        Err(e) => return tally.error(format!("token: {e}")).await,
    };
    let url = &actors.gateway;
    let placed = post(
        &client,
        url,
        &citizen,
        PLACE,
        json!({"input": {
            "category": "elder_visit",
            "description": format!("看望老人 (合成) soak {n}"),
            "form": [{"key": "people", "value": "1"}],
            "location": {"lat": 29.3868 + (n % 40) as f64 * 0.00005, "lon": 105.5701},
            "contactPhone": "138 1234 5678",
            "photos": [],
            "idempotencyKey": format!("soak-{n}"),
        }}),
    )
    .await;
    let order = match placed.map(|a| a["data"]["placeOrder"]["id"].as_str().map(str::to_owned)) {
        Ok(Some(id)) => id,
        Ok(None) => return tally.error("placeOrder: no id").await,
        Err(e) => return tally.error(format!("placeOrder: {}", code(&e))).await,
    };
    let watcher = {
        let (ws, token, order) = (actors.ws.clone(), citizen.clone(), order.clone());
        tokio::spawn(async move {
            watch(
                &ws,
                &token,
                &order,
                Instant::now() + Duration::from_secs(60),
            )
            .await
        })
    };
    // Let the watcher subscribe before the first move (it would read it from the
    // timeline anyway; this keeps most moves live).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let steps: [(&str, &str, Value); 6] = [
        (
            &actors.courtyard,
            "mutation($id: ID!) { receiveOrder(orderId: $id) { id } }",
            json!({}),
        ),
        (
            &actors.courtyard,
            "mutation($id: ID!, $v: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $v) { id } }",
            json!({"v": [actors.volunteer_id]}),
        ),
        (
            &actors.volunteer,
            "mutation($id: ID!) { acceptOrder(orderId: $id) { id } }",
            json!({}),
        ),
        (
            &actors.volunteer,
            "mutation($id: ID!) { startOrder(orderId: $id) { id } }",
            json!({}),
        ),
        (
            &actors.volunteer,
            "mutation($id: ID!, $h: [OrderHoursInput!]!) { completeOrder(orderId: $id, hours: $h) { id } }",
            json!({"h": [{"volunteerId": actors.volunteer_id, "hours": 1.5}]}),
        ),
        (
            &citizen,
            "mutation($id: ID!) { rateOrder(orderId: $id, rating: 5) { id } }",
            json!({}),
        ),
    ];
    for (token, mutation, extra) in steps {
        let mut variables = json!({"id": order});
        if let (Some(v), Some(e)) = (variables.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        if let Err(e) = post(&client, url, token, mutation, variables).await {
            return tally
                .error(format!("{}: {}", field(mutation), code(&e)))
                .await;
        }
    }
    match watcher.await {
        Ok(Ok(seen)) => {
            let saw_all = LIFE.iter().all(|e| seen.iter().any(|s| s == e));
            if !saw_all {
                tally.missed.fetch_add(1, Ordering::Relaxed);
            }
        }
        _ => tally.error("watcher failed").await,
    }
    tally.lives.fetch_add(1, Ordering::Relaxed);
}

fn field(mutation: &str) -> &str {
    mutation
        .split('{')
        .nth(1)
        .and_then(|s| s.split('(').next())
        .map_or("mutation", str::trim)
}

fn code(e: &anyhow::Error) -> String {
    e.to_string()
        .split(':')
        .next()
        .unwrap_or("error")
        .to_owned()
}

async fn read(split: Arc<Split>, actors: Arc<Actors>, tally: Arc<Tally>) {
    let client = reqwest::Client::new();
    let _ = &split;
    match post(
        &client,
        &actors.gateway,
        &actors.courtyard,
        DASHBOARD,
        json!({"unitId": actors.unit_id}),
    )
    .await
    {
        Ok(_) => {
            tally.reads.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tally.error(format!("dashboard: {}", code(&e))).await,
    }
}

/// The window bookings look in: from past the stations' minimum notice to within their
/// horizon.
fn booking_window() -> (String, String) {
    let now = chrono::Utc::now();
    (
        (now + chrono::Duration::hours(2)).to_rfc3339(),
        (now + chrono::Duration::days(28)).to_rfc3339(),
    )
}

/// The desks (station, service) of the demo stations that have free slots ahead.
async fn desks(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let stations = post(client, url, token, STATIONS, json!({})).await?;
    let (from, to) = booking_window();
    let mut desks = Vec::new();
    for station in stations["data"]["legalAidStations"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = station["id"].as_str().unwrap_or_default();
        for service in station["services"].as_array().into_iter().flatten() {
            let service = service.as_str().unwrap_or_default();
            let slots = post(
                client,
                url,
                token,
                SLOTS,
                json!({"s": id, "svc": service, "from": from, "to": to}),
            )
            .await?;
            if slots["data"]["availableSlots"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                desks.push((id.to_owned(), service.to_owned()));
            }
        }
    }
    anyhow::ensure!(
        !desks.is_empty(),
        "no legal-aid station has free slots: {stations}"
    );
    Ok(desks)
}

/// Books `input` for `token` through the router: the appointment's id; `None` on an expected
/// conflict (another client took the slot first), counted; `Err` on anything else, counted.
async fn book(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    input: &Value,
    tally: &Tally,
) -> Result<Option<String>, ()> {
    match post(client, url, token, BOOK, input.clone()).await {
        Ok(a) => {
            tally.booked.fetch_add(1, Ordering::Relaxed);
            Ok(a["data"]["bookAppointment"]["id"]
                .as_str()
                .map(str::to_owned))
        }
        Err(e) if code(&e) == "CONFLICT" => {
            tally.conflicts.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
        Err(e) => {
            tally.error(format!("bookAppointment: {}", code(&e))).await;
            Err(())
        }
    }
}

/// Cancels appointment `id` for `token`, counted.
async fn cancel(client: &reqwest::Client, url: &str, token: &str, id: &str, tally: &Tally) {
    match post(client, url, token, CANCEL, json!({"id": id})).await {
        Ok(_) => {
            tally.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            tally
                .error(format!("cancelAppointment: {}", code(&e)))
                .await
        }
    }
}

/// One legal-aid booking: read the free slots, book one of the first few (every twentieth
/// with a rival client on the same slot at the same instant, who cancels if they win),
/// sometimes send it twice with the same key, mostly cancel again.
async fn booking(n: u64, split: Arc<Split>, actors: Arc<Actors>, tally: Arc<Tally>) {
    let client = reqwest::Client::new();
    let token = |who: &str| split.token(&format!("{who}-{n}"), Role::Citizen, None);
    let (citizen, rival) = match (token("soak-visitor"), token("soak-rival")) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(e), _) | (_, Err(e)) => return tally.error(format!("token: {e}")).await,
    };
    let url = &actors.gateway;
    let desks = actors.desks.len() as u64;
    let (station, service) = &actors.desks[(n % desks) as usize];
    // One in four of each desk's bookings is kept, so its slots last the run.
    let keep = (n / desks).is_multiple_of(4);
    for attempt in 0..2u64 {
        let (from, to) = booking_window();
        let slots = match post(
            &client,
            url,
            &citizen,
            SLOTS,
            json!({"s": station, "svc": service, "from": from, "to": to}),
        )
        .await
        {
            Ok(a) => a["data"]["availableSlots"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            Err(e) => return tally.error(format!("availableSlots: {}", code(&e))).await,
        };
        if slots.is_empty() {
            tally.no_slot.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // One of the first few, as people take the earliest.
        let slot = &slots[((n * 7 + attempt) % 3) as usize % slots.len()]["startsAt"];
        let input = |who: &str| {
            json!({"input": {
                "stationId": station,
                "service": service,
                "startsAt": slot,
                "topic": format!("劳动合同咨询(合成) soak {n}"),
                "parties": [format!("来访人{n}(合成)"), "某电子科技有限公司(合成)"],
                "idempotencyKey": format!("{who}-{n}"),
            }})
        };
        let mine = input("soak-booking");
        let race = n.is_multiple_of(20) && attempt == 0;
        let (booked, rivals) = tokio::join!(book(&client, url, &citizen, &mine, &tally), async {
            if race {
                book(&client, url, &rival, &input("soak-rival"), &tally).await
            } else {
                Ok(None)
            }
        });
        if let Ok(Some(id)) = rivals {
            cancel(&client, url, &rival, &id, &tally).await;
        }
        let id = match booked {
            Ok(Some(id)) => id,
            Ok(None) => continue,
            Err(()) => return,
        };
        if n.is_multiple_of(10) {
            // A client that timed out sends the booking again: the same appointment.
            match post(&client, url, &citizen, BOOK, mine).await {
                Ok(a) if a["data"]["bookAppointment"]["id"].as_str() == Some(&id) => {
                    tally.retried.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => return tally.error("bookAppointment: a retry made another").await,
                Err(e) => {
                    return tally
                        .error(format!("bookAppointment retried: {}", code(&e)))
                        .await;
                }
            }
        }
        if !keep {
            cancel(&client, url, &citizen, &id, &tally).await;
        }
        return;
    }
}

/// One sample of every process's memory and of what waits to be published or consumed.
struct Sample {
    at: Duration,
    rss: Vec<(String, f64)>,
    backlog: f64,
    lag: u64,
}

async fn backlog(split: &Split) -> f64 {
    let client = reqwest::Client::new();
    let mut total = 0.0;
    for s in &split.services {
        let Ok(r) = client
            .get(format!("http://{}/metrics", s.http))
            .send()
            .await
        else {
            continue;
        };
        let text = r.text().await.unwrap_or_default();
        total += text
            .lines()
            .filter(|l| l.starts_with("tongxin_outbox_backlog"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    total
}

async fn lag(split: &Split) -> u64 {
    use futures::TryStreamExt;
    let Ok(client) = async_nats::connect(split.nats_url()).await else {
        return u64::MAX;
    };
    let js = async_nats::jetstream::new(client);
    let Ok(mut stream) = js.get_stream("TONGXIN").await else {
        return 0;
    };
    let _ = stream.info().await;
    let Ok(consumers) = stream
        .consumers()
        .try_collect::<Vec<async_nats::jetstream::consumer::Info>>()
        .await
    else {
        return u64::MAX;
    };
    consumers
        .iter()
        .map(|c| c.num_pending + c.num_ack_pending as u64)
        .sum()
}

async fn sample(split: &Split, started: Instant) -> Sample {
    let mut rss: Vec<(String, f64)> = split
        .services
        .iter()
        .map(|s| (s.name.to_owned(), rss_mib(split.pid(s.name))))
        .collect();
    rss.push(("router".to_owned(), rss_mib(split.router_pid())));
    Sample {
        at: started.elapsed(),
        rss,
        backlog: backlog(split).await,
        lag: lag(split).await,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs = env_number("SOAK_SECONDS", 600).max(20);
    let orders_per_second = env_number("SOAK_ORDERS", 2).max(1);
    let reads_per_second = env_number("SOAK_READS", 20).max(1);
    let bookings_per_second = env_number("SOAK_BOOKINGS", 1);
    let split = Arc::new(Split::start(Data::Demo, &[]).await?);
    let courtyard = split.token("soak-staff", Role::Staff, Some(paths::CAIJIABA))?;
    let volunteer = split.token(
        tongxin_orders::demo::DEMO_VOLUNTEER_SUBJECT,
        Role::Volunteer,
        None,
    )?;
    let client = reqwest::Client::new();
    let me = post(
        &client,
        split.router_url(),
        &volunteer,
        "{ myVolunteerRecord { id } }",
        json!({}),
    )
    .await?;
    let volunteer_id = me["data"]["myVolunteerRecord"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the demo volunteer has no record: {me}"))?
        .to_owned();
    let desks = desks(&client, split.router_url(), &volunteer).await?;
    let actors = Arc::new(Actors {
        gateway: split.router_url().to_owned(),
        ws: split.router_url().replacen("http://", "ws://", 1),
        courtyard,
        volunteer,
        volunteer_id,
        unit_id: tongxin_venues::demo::unit_id(paths::CAIJIABA).0.to_string(),
        desks,
    });
    let tally = Arc::new(Tally::default());
    println!(
        "soak: {secs} s, {orders_per_second} order lives/s, {reads_per_second} dashboard reads/s, {bookings_per_second} legal-aid bookings/s"
    );
    let per_second = orders_per_second + bookings_per_second + reads_per_second;

    let started = Instant::now();
    let mut samples = vec![sample(&split, started).await];
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
    let mut next_sample = Instant::now() + Duration::from_secs(10);
    let mut tasks = Vec::new();
    let (mut n, mut b, mut tick) = (0u64, 0u64, 0u64);
    while started.elapsed() < Duration::from_secs(secs) {
        ticker.tick().await;
        tick += 1;
        // Orders, bookings and reads interleaved at their rates.
        let slot = tick % per_second;
        if slot < orders_per_second {
            n += 1;
            tasks.push(tokio::spawn(life(
                n,
                split.clone(),
                actors.clone(),
                tally.clone(),
            )));
        } else if slot < orders_per_second + bookings_per_second {
            b += 1;
            tasks.push(tokio::spawn(booking(
                b,
                split.clone(),
                actors.clone(),
                tally.clone(),
            )));
        } else {
            tasks.push(tokio::spawn(read(
                split.clone(),
                actors.clone(),
                tally.clone(),
            )));
        }
        if Instant::now() >= next_sample {
            samples.push(sample(&split, started).await);
            next_sample += Duration::from_secs(10);
            tasks.retain(|t| !t.is_finished());
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    // Drained: backlog and lag back to zero within a minute.
    let stop = Instant::now();
    let mut last = sample(&split, started).await;
    while (last.backlog > 0.0 || last.lag > 0) && stop.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = sample(&split, started).await;
    }
    let drained_in = stop.elapsed();
    let (backlog_left, lag_left) = (last.backlog, last.lag);
    samples.push(last);

    // Memory: the largest resident set after warm-up against the one at its end.
    let warm = Duration::from_secs(secs / 10);
    let mut report = String::new();
    writeln!(report, "# Soak: {secs} s of mixed load\n")?;
    writeln!(
        report,
        "Load: {orders_per_second} whole order lives/s (placed → rated, each watched live by its citizen), {bookings_per_second} legal-aid bookings/s, {reads_per_second} staff dashboard reads/s, through the router; split mode on this machine.\n"
    )?;
    let errors = tally.errors.lock().await.clone();
    let error_count: usize = errors.values().sum();
    writeln!(
        report,
        "- order lives: {} completed, {} with a missed move",
        tally.lives.load(Ordering::Relaxed),
        tally.missed.load(Ordering::Relaxed)
    )?;
    writeln!(
        report,
        "- dashboard reads: {}",
        tally.reads.load(Ordering::Relaxed)
    )?;
    writeln!(
        report,
        "- legal-aid bookings: {} booked ({} cancelled again, {} sent twice and given the same appointment), {} conflicts (two clients on one slot, expected), {} found no free slot",
        tally.booked.load(Ordering::Relaxed),
        tally.cancelled.load(Ordering::Relaxed),
        tally.retried.load(Ordering::Relaxed),
        tally.conflicts.load(Ordering::Relaxed),
        tally.no_slot.load(Ordering::Relaxed)
    )?;
    writeln!(report, "- errors: {error_count} {errors:?}")?;
    writeln!(
        report,
        "- drained (outbox backlog {} and consumer lag {}) {:.1} s after the load stopped",
        backlog_left,
        lag_left,
        drained_in.as_secs_f64()
    )?;
    writeln!(
        report,
        "\n| process | RSS after warm-up (MiB) | peak after (MiB) | at the end (MiB) | growth |\n|---|---|---|---|---|"
    )?;
    let mut growths = Vec::new();
    let names: Vec<String> = samples[0].rss.iter().map(|(n, _)| n.clone()).collect();
    for (i, name) in names.iter().enumerate() {
        let after: Vec<f64> = samples
            .iter()
            .filter(|s| s.at >= warm)
            .map(|s| s.rss[i].1)
            .collect();
        let base = after.first().copied().unwrap_or(0.0);
        let peak = after.iter().copied().fold(0.0, f64::max);
        let end = after.last().copied().unwrap_or(0.0);
        let growth = if base > 0.0 {
            (peak - base) / base * 100.0
        } else {
            0.0
        };
        growths.push((name.clone(), growth));
        writeln!(
            report,
            "| {name} | {base:.1} | {peak:.1} | {end:.1} | {growth:.1} % |"
        )?;
    }
    writeln!(
        report,
        "\nSamples every 10 s (time, backlog, lag, RSS per process):\n"
    )?;
    for s in &samples {
        let rss: Vec<String> = s.rss.iter().map(|(n, v)| format!("{n} {v:.0}")).collect();
        writeln!(
            report,
            "    {:>5.0} s  backlog {:>4}  lag {:>4}  {}",
            s.at.as_secs_f64(),
            s.backlog,
            s.lag,
            rss.join(", ")
        )?;
    }
    print!("\n{report}");
    let dir = results_path()
        .parent()
        .map(|p| p.to_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("soak.md"), &report)?;

    let mut scenario = Scenario::new("soak");
    scenario.add(
        Figure::new(
            "errors other than expected conflicts",
            error_count as f64,
            "errors",
        )
        .lower_is_better()
        .goal(Goal::AtMost(0.0)),
    );
    scenario.add(
        Figure::new(
            "order lives with a missed live move",
            tally.missed.load(Ordering::Relaxed) as f64,
            "lives",
        )
        .lower_is_better()
        .goal(Goal::AtMost(0.0)),
    );
    scenario.add(Figure::new(
        "legal-aid bookings",
        tally.booked.load(Ordering::Relaxed) as f64,
        "bookings",
    ));
    for (name, growth) in growths {
        scenario.add(
            Figure::new(format!("{name} memory growth after warm-up"), growth, "%")
                .lower_is_better()
                .goal(Goal::Below(10.0)),
        );
    }
    scenario.add(
        Figure::new(
            "outbox backlog and consumer lag drained",
            drained_in.as_secs_f64(),
            "s",
        )
        .lower_is_better()
        .goal(Goal::Below(60.0)),
    );
    scenario.save()?;
    match Arc::try_unwrap(split) {
        Ok(split) => split.stop().await,
        Err(_) => eprintln!("soak: tasks still hold the platform; leaving it to exit"),
    }
    Ok(())
}
