//! `make bench` for legal aid. Prints figures and ratios against a baseline measured in the
//! same run (the machine is noisy: compare side by side, read medians).
//!
//! 1. `AvailableSlots` for one station and service over 30 days, at the gRPC boundary (a
//!    real tonic server on localhost, a service token, PostgreSQL), with a year of bookings
//!    behind it: a pool of three lawyers on weekday mornings and afternoons, 30-minute
//!    slots, about half of every provider's slots booked from December 2025 to the end of
//!    the horizon, some cancelled. Against one SQL query on the same PostgreSQL computing the
//!    same slots (generate_series over the roster windows with the holiday calendar, minus
//!    the active bookings through the no-overlap constraint's own GiST index). Every SQL
//!    answer must equal the gRPC answer for the same window, or the bench fails. Target: p99
//!    under 2 ms and at least 5x faster than SQL.
//! 2. 50 clients booking the same slot at once through the subgraph (`bookAppointment`
//!    over HTTP), 100 rounds: exactly one booking must succeed every round, or the bench
//!    fails.
//!
//! The year of bookings is written straight into the table in batches (the service only
//! books the future; the database's no-overlap constraint still checks every row). The
//! service's clock stands at Monday 2026-11-30 08:00 in Asia/Shanghai.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc, Weekday};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, Statement};
use serde_json::json;
use tongxin_legal_aid::domain::slots;
use tongxin_legal_aid::domain::{LegalService, ProviderId, ProviderKind, StationId};
use tongxin_legal_aid::service::clock::Clock;
use tongxin_legal_aid::service::{Caller, LegalAid, NewProvider, NewRule, NewStation};
use tongxin_legal_aid::store::appointments::appointment;
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::grpc::request_as;
use tongxin_platform::org::{Level, UnitPath};
use tongxin_proto::legalaid as pb;
use tongxin_proto::legalaid::legal_aid_service_client::LegalAidServiceClient;
use tongxin_testing::bench::{Figure, Goal, Scenario};
use uuid::Uuid;

const GRPC_QUERIES: usize = 2000;
const SQL_QUERIES: usize = 300;
const CLIENTS: usize = 50;
const ROUNDS: usize = 100;
/// The share of a provider's past and future slots that is booked, in percent.
const BOOKED_PERCENT: u64 = 55;

const BOOK: &str = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
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

/// Monday 2026-11-30 08:00 in Asia/Shanghai: the service's "now".
fn now() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 30, 8, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc)
}

fn admin() -> anyhow::Result<Caller> {
    Ok(Caller {
        principal: Principal {
            subject: "bench-admin".to_owned(),
            roles: vec![Role::Admin],
            unit: None,
            district: Some("rc".to_owned()),
            credential: None,
        },
        scope: Some(UnitPath::parse("/rc").map_err(fail)?),
        provider: None,
    })
}

fn fail(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// A station at `path` whose `lawyers` sit as one pool Monday to Friday, 09:00-12:00 and
/// 14:00-17:30, in 30-minute consultation slots; booking 60 minutes to 60 days ahead.
async fn make_station(
    legal_aid: &LegalAid,
    path: &str,
    lawyers: usize,
) -> anyhow::Result<(StationId, Vec<ProviderId>)> {
    let admin = admin()?;
    let unit = Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes());
    legal_aid
        .remember_unit(unit, path, Level::Station)
        .await
        .map_err(fail)?;
    let station = legal_aid
        .create_station(
            &admin,
            NewStation {
                unit,
                venue: None,
                name: format!("基准站 {path}"),
                address: "基准地址".to_owned(),
                opening_hours: "工作日".to_owned(),
                contact: "023-0000000".to_owned(),
                services: vec![LegalService::Consultation],
                min_notice_minutes: 60,
                horizon_days: 60,
            },
        )
        .await
        .map_err(fail)?;
    let mut providers = Vec::new();
    for i in 0..lawyers {
        let p = legal_aid
            .add_provider(
                &admin,
                NewProvider {
                    name: format!("基准律师{i}"),
                    kind: ProviderKind::Lawyer,
                    office: "基准律师事务所".to_owned(),
                    licence_no: format!("1500120000{i:04}"),
                    services: vec![LegalService::Consultation],
                    stations: vec![station.id],
                    account_subject: None,
                },
            )
            .await
            .map_err(fail)?;
        providers.push(p.id);
    }
    for weekday in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        for (start, end) in [("09:00", "12:00"), ("14:00", "17:30")] {
            legal_aid
                .add_rule(
                    &admin,
                    station.id,
                    NewRule {
                        weekday,
                        start: start.to_owned(),
                        end: end.to_owned(),
                        service: LegalService::Consultation,
                        providers: providers.clone(),
                        slot_minutes: 30,
                        buffer_minutes: 0,
                        daily_limit: None,
                    },
                )
                .await
                .map_err(fail)?;
        }
    }
    Ok((station.id, providers))
}

/// A year of bookings at `station`: about [`BOOKED_PERCENT`] of every provider's slots from
/// 2025-12-01 to 2027-01-28 (the roster's own slots, with the holiday calendar), in time
/// order, some of them cancelled (which occupy nothing). Returns how many rows.
async fn year_of_bookings(legal_aid: &LegalAid, station: StationId) -> anyhow::Result<usize> {
    let unit = legal_aid.station(station).await.map_err(fail)?.unit;
    let mut rng = Lcg(2026);
    let mut rows = Vec::new();
    let (mut from, last) = (
        NaiveDate::from_ymd_opt(2025, 12, 1).expect("date"),
        NaiveDate::from_ymd_opt(2027, 1, 28).expect("date"),
    );
    while from <= last {
        let to = (from + chrono::Duration::days(59)).min(last);
        let sittings: Vec<_> = legal_aid
            .duty_roster(station, from, to)
            .await
            .map_err(fail)?
            .into_iter()
            .flat_map(|d| d.sittings)
            .collect();
        for slot in slots::cut(&sittings, LegalService::Consultation) {
            for p in &slot.free {
                if rng.next() % 100 >= BOOKED_PERCENT {
                    continue;
                }
                let status = match rng.next() % 20 {
                    0 => "cancelled",
                    _ if slot.starts_at < now() => "checked_in",
                    _ => "booked",
                };
                rows.push(appointment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    station_id: Set(station.0),
                    org_unit_id: Set(unit),
                    provider_id: Set(Some(p.0)),
                    service: Set(LegalService::Consultation.code().to_owned()),
                    starts_at: Set(slot.starts_at),
                    ends_at: Set(slot.ends_at),
                    status: Set(status.to_owned()),
                    citizen: Set(format!("bench-citizen-{}", rows.len())),
                    topic_cipher: Set(Vec::new()),
                    parties_cipher: Set(Vec::new()),
                    phone_cipher: Set(None),
                    idempotency_key: Set(None),
                    walk_in: Set(false),
                    order_id: Set(None),
                    version: Set(1),
                    created_at: Set(slot.starts_at - chrono::Duration::days(3)),
                    updated_at: Set(slot.starts_at - chrono::Duration::days(3)),
                });
            }
        }
        from = to + chrono::Duration::days(1);
    }
    let n = rows.len();
    let db = legal_aid.db();
    while !rows.is_empty() {
        let batch: Vec<_> = rows.drain(..rows.len().min(500)).collect();
        appointment::Entity::insert_many(batch)
            .exec_without_returning(db)
            .await?;
    }
    db.execute_unprepared("ANALYZE appointments").await?;
    Ok(n)
}

/// One window: 30 days from a start that moves through the first three days (on the
/// hour and the half hour), so consecutive queries differ.
fn window(i: usize) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = now() + chrono::Duration::minutes(30 * (i % 144) as i64);
    (from, from + chrono::Duration::days(30))
}

/// An answer as both sides give it: each slot's start (ms) and its free providers, sorted.
type Answer = Vec<(i64, Vec<String>)>;

/// The free slots in one SQL statement: the station's weekly rules on every date of the
/// window (a holiday has none, a make-up working day follows its weekday, a closed day has
/// none), cut into slots with generate_series, one row per provider of the rule, minus every
/// provider with an active booking overlapping the slot, within the minimum notice and the
/// horizon. The bench's station uses no extra openings, providers away or daily limits, so
/// the statement leaves them out.
const SQL_SLOTS: &str = "
WITH days AS (
  SELECT d::date AS day
  FROM generate_series(($2 AT TIME ZONE 'Asia/Shanghai')::date,
                       ($3 AT TIME ZONE 'Asia/Shanghai')::date, interval '1 day') AS d
), roster_days AS (
  SELECT days.day,
         CASE c.kind WHEN 'holiday' THEN NULL WHEN 'workday' THEN c.follows
                     ELSE extract(isodow FROM days.day)::smallint END AS weekday
  FROM days LEFT JOIN calendar_days c ON c.date = days.day
  WHERE NOT EXISTS (SELECT 1 FROM roster_exceptions e
                    WHERE e.station_id = $1 AND e.date = days.day AND e.kind = 'closed')
), windows AS (
  SELECT ((rd.day + r.start_time::time) AT TIME ZONE 'Asia/Shanghai') AS opens,
         ((rd.day + r.end_time::time) AT TIME ZONE 'Asia/Shanghai') AS closes,
         make_interval(mins => r.slot_minutes) AS len,
         make_interval(mins => r.slot_minutes + r.buffer_minutes) AS step,
         r.provider_ids
  FROM roster_rules r JOIN roster_days rd ON rd.weekday = r.weekday
  WHERE r.station_id = $1 AND r.service = 'consultation'
), cut AS (
  SELECT s AS starts_at, s + w.len AS ends_at, p::uuid AS provider
  FROM windows w,
       generate_series(w.opens, w.closes - w.len, w.step) AS s,
       jsonb_array_elements_text(w.provider_ids::jsonb) AS p
)
SELECT (extract(epoch FROM c.starts_at) * 1000)::bigint AS starts_ms,
       string_agg(c.provider::text, ',' ORDER BY c.provider::text) AS providers
FROM cut c
WHERE c.starts_at >= $2 AND c.starts_at < $3
  AND c.starts_at >= $4 + interval '60 minutes' AND c.starts_at < $4 + interval '60 days'
  AND NOT EXISTS (
    SELECT 1 FROM appointments a
    WHERE a.provider_id = c.provider AND a.status IN ('booked', 'checked_in')
      AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(c.starts_at, c.ends_at, '[)'))
GROUP BY c.starts_at
ORDER BY c.starts_at";

async fn sql_slots(
    db: &sea_orm::DatabaseConnection,
    station: StationId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Answer> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SQL_SLOTS,
            [station.0.into(), from.into(), to.into(), now().into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let start: i64 = r.try_get("", "starts_ms")?;
            let providers: String = r.try_get("", "providers")?;
            Ok((start, providers.split(',').map(str::to_owned).collect()))
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let (clock, _hand) = Clock::manual(now());
    let module = tongxin_legal_aid::LegalAidModule::new(tongxin_legal_aid::LegalAidSettings {
        pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
        ..tongxin_legal_aid::default_settings()
    })
    .with_clock(clock);
    let spawned = tongxin_testing::spawn()
        .in_process_bus()
        .service(module)
        .pool_size(tongxin_legal_aid::NAME, 64)
        .start()
        .await;
    let legal_aid = spawned.state::<LegalAid>(tongxin_legal_aid::NAME).clone();
    let db = legal_aid.db().clone();

    // 1. AvailableSlots with a year of bookings.
    let (station, _) = make_station(&legal_aid, "/rc/bench/legal", 3).await?;
    let started = Instant::now();
    let rows = year_of_bookings(&legal_aid, station).await?;
    println!(
        "AvailableSlots, one station, consultation, 30-day windows; a pool of 3 lawyers with {rows} bookings over a year (written in {:.1} s):",
        started.elapsed().as_secs_f64()
    );
    let grpc = spawned.service(tongxin_legal_aid::NAME).grpc_addr();
    let mut client = LegalAidServiceClient::connect(format!("http://{grpc}")).await?;
    let credential = spawned.service_credential("bench");
    let request = |i: usize| {
        let (from, to) = window(i);
        request_as(
            pb::AvailableSlotsRequest {
                station_id: station.to_string(),
                service: pb::LegalService::Consultation as i32,
                from_ms: from.timestamp_millis(),
                to_ms: to.timestamp_millis(),
            },
            Some(&credential),
        )
    };
    for i in 0..200 {
        client.available_slots(request(i)).await?;
    }
    let mut grpc_times = Vec::with_capacity(GRPC_QUERIES);
    let mut answers: Vec<Answer> = Vec::with_capacity(GRPC_QUERIES);
    for i in 0..GRPC_QUERIES {
        let t = Instant::now();
        let answer = client.available_slots(request(i)).await?.into_inner();
        grpc_times.push(t.elapsed());
        answers.push(
            answer
                .slots
                .into_iter()
                .map(|s| {
                    let mut p = s.provider_ids;
                    p.sort();
                    (s.starts_at_ms, p)
                })
                .collect(),
        );
    }
    for i in 0..20 {
        sql_slots(&db, station, window(i)).await?;
    }
    let mut sql_times = Vec::with_capacity(SQL_QUERIES);
    let mut differ = Vec::new();
    for (i, want) in answers.iter().enumerate().take(SQL_QUERIES) {
        let t = Instant::now();
        let got = sql_slots(&db, station, window(i)).await?;
        sql_times.push(t.elapsed());
        if &got != want {
            differ.push(i);
        }
    }
    grpc_times.sort();
    sql_times.sort();
    let slots_per_answer = answers.iter().map(Vec::len).sum::<usize>() / answers.len().max(1);
    let (g50, g99) = (percentile(&grpc_times, 0.5), percentile(&grpc_times, 0.99));
    let (s50, s99) = (percentile(&sql_times, 0.5), percentile(&sql_times, 0.99));
    println!(
        "  gRPC AvailableSlots, {GRPC_QUERIES} calls ({slots_per_answer} free slots per answer): p50 {:.2} ms, p99 {:.2} ms   target p99 < 2 ms: {}",
        ms(g50),
        ms(g99),
        if g99 < Duration::from_millis(2) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  single SQL query on PostgreSQL (generate_series minus bookings), {SQL_QUERIES} queries: p50 {:.2} ms, p99 {:.2} ms",
        ms(s50),
        ms(s99)
    );
    let ratio = s50.as_secs_f64() / g50.as_secs_f64();
    let mut record = Scenario::new("legal-aid/slots");
    record.add(
        Figure::new(
            format!("gRPC AvailableSlots p50, {rows} bookings"),
            ms(g50),
            "ms",
        )
        .latencies(&grpc_times)
        .baseline("single SQL query p50", ms(s50))
        .lower_is_better()
        .goal(Goal::RatioAtLeast(5.0))
        .note("p99 under 2 ms wanted too"),
    );
    println!(
        "  SQL / gRPC: {ratio:.1}x at p50, {:.1}x at p99   target >= 5x: {}; same answers on {} of {SQL_QUERIES} queries",
        s99.as_secs_f64() / g99.as_secs_f64(),
        if ratio >= 5.0 { "met" } else { "MISSED" },
        SQL_QUERIES - differ.len()
    );
    if let Some(first) = differ.first() {
        let got = sql_slots(&db, station, window(*first)).await?;
        anyhow::bail!(
            "SQL and gRPC disagree on {} queries; first, window {first}: gRPC {} slots, SQL {} slots",
            differ.len(),
            answers[*first].len(),
            got.len()
        );
    }

    // 2. 50 clients booking one slot at once, 100 rounds, through the subgraph.
    let (race, _) = make_station(&legal_aid, "/rc/bench/race", 1).await?;
    let open = legal_aid
        .available_slots(
            race,
            LegalService::Consultation,
            now(),
            now() + chrono::Duration::days(30),
        )
        .await
        .map_err(fail)?;
    anyhow::ensure!(open.len() >= ROUNDS, "only {} free slots", open.len());
    let url = format!(
        "http://{}/graphql",
        spawned.service(tongxin_legal_aid::NAME).http_addr()
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let tokens: Vec<String> = (0..CLIENTS)
        .map(|c| {
            spawned.sign(
                &format!("bench-racer-{c}"),
                &[Role::Citizen],
                None,
                Some("rc"),
            )
        })
        .collect();
    let mut winners: BTreeMap<usize, usize> = BTreeMap::new();
    let mut round_times = Vec::with_capacity(ROUNDS);
    let mut other_errors = 0usize;
    for (round, slot) in open.iter().take(ROUNDS).enumerate() {
        let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(CLIENTS);
        for token in &tokens {
            let (http, url, token, barrier) =
                (http.clone(), url.clone(), token.clone(), barrier.clone());
            let body = json!({ "query": BOOK, "variables": { "i": {
                "stationId": race.to_string(), "service": "CONSULTATION",
                "startsAt": slot.starts_at.to_rfc3339(), "topic": "同一时段"
            }}});
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r: serde_json::Value = http
                    .post(&url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await?
                    .json()
                    .await?;
                anyhow::Ok(r)
            }));
        }
        let mut ok = 0;
        for task in tasks {
            let r = task.await??;
            if r["data"]["bookAppointment"]["id"].is_string() {
                ok += 1;
            } else if r["errors"][0]["extensions"]["code"] != "CONFLICT" {
                if other_errors == 0 {
                    eprintln!("round {round}: unexpected answer {r}");
                }
                other_errors += 1;
            }
        }
        round_times.push(started.elapsed());
        *winners.entry(ok).or_default() += 1;
    }
    round_times.sort();
    let exact = winners.get(&1).copied().unwrap_or(0);
    println!(
        "{CLIENTS} clients booking one slot at once (bookAppointment over HTTP), {ROUNDS} rounds: exactly one booking in {exact} of {ROUNDS} rounds (successes per round: {winners:?}), {other_errors} answers other than CONFLICT; a round p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&round_times, 0.5)),
        ms(percentile(&round_times, 0.99)),
    );
    record.add(
        Figure::new(
            format!(
                "{CLIENTS} clients booking one slot: rounds not ending with exactly one booking"
            ),
            (ROUNDS - exact) as f64,
            "rounds",
        )
        .latencies(&round_times)
        .goal(Goal::AtMost(0.0))
        .note(format!(
            "of {ROUNDS} rounds; {other_errors} answers other than CONFLICT; p50/p99 of a round"
        )),
    );
    record.save()?;
    spawned.stop().await;
    anyhow::ensure!(
        exact == ROUNDS && other_errors == 0,
        "a round did not end with exactly one booking"
    );
    Ok(())
}
