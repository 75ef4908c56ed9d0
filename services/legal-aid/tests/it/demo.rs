//! The demo history `tongxin run` starts with (SQLite, as there): the industrial-park
//! station's counts from its opening to June 2022 are the seed's figures, read through
//! `legalAidCounts` as a station's staff would; every appointment sits on its station's
//! roster and no provider is ever booked twice at once.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Datelike, Weekday};
use sea_orm::EntityTrait;
use serde_json::json;
use tongxin_legal_aid::demo;
use tongxin_legal_aid::domain::roster::local_date;
use tongxin_legal_aid::domain::slots;
use tongxin_legal_aid::domain::{LegalService, StationId};
use tongxin_legal_aid::store::appointments::appointment;

use super::*;

/// A visit's `[start, end)`.
type Span = (chrono::DateTime<Utc>, chrono::DateTime<Utc>);

/// 2021-05-01 00:00 to 2022-07-01 00:00 in Asia/Shanghai: the station's first period.
const FROM: &str = "2021-04-30T16:00:00Z";
const TO: &str = "2022-06-30T16:00:00Z";

const COUNTS: &str = "query($s: ID!, $from: DateTime!, $to: DateTime!, $g: LegalAidCountsGroup!) {
  legalAidCounts(stationId: $s, from: $from, to: $to, groupBy: $g) {
    group consultations referrals legalAidCases notarizations mediations healthChecks
    noShows cases mediationsDecided mediationAgreements } }";

async fn seeded() -> (TestApp, HashMap<String, String>) {
    let app = TestApp::spawn_on(Store::Sqlite).await;
    for (path, level) in [
        (demo::paths::INDUSTRIAL_PARK, Level::Station),
        (demo::paths::RONGSHENG, Level::Station),
    ] {
        app.legal_aid
            .remember_unit(unit_id(path), path, level)
            .await
            .expect("unit");
    }
    let started = Instant::now();
    assert_eq!(demo::seed(&app.legal_aid).await.expect("seed"), 3);
    let took = started.elapsed();
    eprintln!("demo seed with history: {took:?}");
    assert!(
        took < StdDuration::from_secs(30),
        "seeding must stay fast for `tongxin run`: {took:?}"
    );
    let stations = app
        .ok(
            &app.admin(),
            "query { legalAidStations { edges { node { id unitPath } } } }",
            json!({}),
            "legalAidStations",
        )
        .await;
    let ids = stations["edges"]
        .as_array()
        .expect("stations")
        .iter()
        .map(|e| {
            (
                e["node"]["unitPath"].as_str().expect("path").to_owned(),
                e["node"]["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    (app, ids)
}

async fn counts(app: &TestApp, token: &str, station: &str, group: &str) -> Vec<Value> {
    app.ok(
        token,
        COUNTS,
        json!({ "s": station, "from": FROM, "to": TO, "g": group }),
        "legalAidCounts",
    )
    .await
    .as_array()
    .expect("rows")
    .clone()
}

#[tokio::test]
async fn the_demo_history_shows_the_seed_figures_and_keeps_the_rules_on_sqlite() {
    let (app, stations) = seeded().await;
    let park = &stations[demo::paths::INDUSTRIAL_PARK];

    // The seed's figures, as the station's own staff read them.
    let all = counts(&app, &app.staff(), park, "ALL").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let row = &all[0];
    assert_eq!(row["consultations"], 336, "330+ consultations: {row}");
    assert_eq!(row["referrals"], 20, "{row}");
    assert_eq!(row["legalAidCases"], 4, "{row}");
    assert_eq!(row["notarizations"], 4, "{row}");
    assert_eq!(row["mediations"], 14, "{row}");
    assert_eq!(row["healthChecks"], 6, "{row}");
    assert_eq!(row["noShows"], 13, "{row}");
    // Every matter-opening outcome opened its case; most mediations were decided.
    assert_eq!(row["cases"], 28, "{row}");
    let decided = row["mediationsDecided"].as_u64().expect("decided");
    assert!((10..=14).contains(&decided), "{row}");
    assert!(row["mediationAgreements"].as_u64().expect("agreements") < decided);

    // Spread over the year: every month from May 2021 to June 2022 had visitors, none
    // outside it.
    let months: Vec<String> = counts(&app, &app.staff(), park, "MONTH")
        .await
        .iter()
        .filter(|r| r["consultations"].as_u64().unwrap_or(0) > 0)
        .map(|r| r["group"].as_str().expect("month").to_owned())
        .collect();
    assert_eq!(months.len(), 14, "{months:?}");
    assert_eq!(months.first().map(String::as_str), Some("2021-05"));
    assert_eq!(months.last().map(String::as_str), Some("2022-06"));

    // The community stations have smaller, plausible histories.
    for path in [demo::paths::HONGQIAO, demo::paths::RONGSHENG] {
        let row = &counts(&app, &app.admin(), &stations[path], "ALL").await[0];
        let n = row["consultations"].as_u64().expect("consultations");
        assert!((20..200).contains(&n), "{path}: {row}");
        assert_eq!(row["notarizations"], 0, "{path}: {row}");
    }

    // Every appointment is on its station's roster (the roster's own computation, with the
    // holiday calendar), and no provider is booked twice at once.
    let rows = appointment::Entity::find()
        .all(app.legal_aid.db())
        .await
        .expect("appointments");
    assert!(rows.len() > 400, "{} appointments", rows.len());
    let mut by_day: BTreeMap<(uuid::Uuid, chrono::NaiveDate), Vec<&appointment::Model>> =
        BTreeMap::new();
    for r in &rows {
        by_day
            .entry((r.station_id, local_date(r.starts_at)))
            .or_default()
            .push(r);
    }
    for ((station, date), day) in &by_day {
        let roster = app
            .legal_aid
            .duty_roster(StationId(*station), *date, *date)
            .await
            .expect("roster");
        let sittings: Vec<_> = roster.into_iter().flat_map(|d| d.sittings).collect();
        for r in day {
            let service = LegalService::from_code(&r.service).expect("service");
            let on_roster = slots::cut(&sittings, service).into_iter().any(|s| {
                s.starts_at == r.starts_at
                    && s.ends_at == r.ends_at
                    && r.provider_id
                        .is_some_and(|p| s.free.iter().any(|f| f.0 == p))
            });
            assert!(on_roster, "{date} {} is not on the roster", r.starts_at);
        }
    }
    // Holidays have no roster, so no visits; make-up Saturdays may.
    let park_id = uuid::Uuid::parse_str(park).expect("id");
    for (station, date) in by_day.keys() {
        assert!(
            *station != park_id
                || matches!(date.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Fri)
                || *date == chrono::NaiveDate::from_ymd_opt(2021, 5, 8).expect("date")
                || *date == chrono::NaiveDate::from_ymd_opt(2022, 4, 24).expect("date")
                || *date == chrono::NaiveDate::from_ymd_opt(2022, 5, 7).expect("date")
                || *date == chrono::NaiveDate::from_ymd_opt(2021, 9, 26).expect("date")
                || *date == chrono::NaiveDate::from_ymd_opt(2022, 1, 30).expect("date"),
            "the park station has no roster on {date}"
        );
        assert_ne!(
            *date,
            chrono::NaiveDate::from_ymd_opt(2021, 10, 1).expect("date"),
            "National Day 2021"
        );
    }
    let mut per_provider: HashMap<uuid::Uuid, Vec<Span>> = HashMap::new();
    for r in rows.iter().filter(|r| r.status != "cancelled") {
        per_provider
            .entry(r.provider_id.expect("provider"))
            .or_default()
            .push((r.starts_at, r.ends_at));
    }
    for spans in per_provider.values_mut() {
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap: {w:?}");
        }
    }

    // Seeding runs once.
    let before = app.appointment_count().await;
    assert_eq!(demo::seed(&app.legal_aid).await.expect("seed again"), 0);
    assert_eq!(app.appointment_count().await, before);
}
