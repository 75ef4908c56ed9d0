//! The rhythm of the work (issue 17): visits, cadence rules, the cadence view across the
//! district's clock, the scheduler closing misses once with two replicas, and `UnitRhythm`
//! over gRPC.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::geo::Coordinates;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::rhythm_service_client::RhythmServiceClient;
use tongxin_venues::demo::{self, paths};
use tongxin_venues::domain::activity::{ActivityId, ActivityStatus, Theme};
use tongxin_venues::domain::org::{OrgUnitId, UnitKind};
use tongxin_venues::domain::rhythm::{CadencePeriod, PeriodKind, RulesInput};
use tongxin_venues::domain::venue::{VenueId, VenueKind, VenueStatus};
use tongxin_venues::service::Venues;
use tongxin_venues::service::rhythm::NewVisit;
use tongxin_venues::service::scheduler::Scheduler;
use tongxin_venues::store::activities::{self, Activity};
use tongxin_venues::store::org_units::{self, OrgUnit};
use tongxin_venues::store::rhythm::{self as store, misses, visits};
use tongxin_venues::store::venues::{self, Venue};
use uuid::Uuid;

use super::{TestApp, error_code};

const RECORD: &str = r#"mutation($i: RecordVisitInput!) { recordVisit(input: $i) { id visitedAt visitedOn householdsReached needsHeardCount masked point { lat lon } notes needsHeard unit { path } } }"#;

const CADENCE: &str = r#"query($u: ID!, $p: CadencePeriodInput!) { cadence(unitId: $u, period: $p) {
  kind periods { start lastDay }
  units { unit { path } level required metStreak missedStreak periods { start required done standing } }
  levels { level units periods { start met missed open } } } }"#;

const SET_RULES: &str = r#"mutation($d: ID!, $i: CadenceRulesInput!) { setCadenceRules(districtId: $d, input: $i) { courtyardVisitsPerWeek courtyardActivitiesPerMonth stationVisitsPerWeek isDefault setBy } }"#;

fn staff(path: &str, subject: &str) -> Principal {
    Principal {
        subject: subject.to_owned(),
        roles: vec![Role::Staff],
        unit: Some(demo::unit_id(path).0),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

async fn visits_stored(app: &TestApp) -> u64 {
    visits::Entity::find().count(&app.db).await.expect("count")
}

/// A second, independent `Venues` (own pool, same key) over the same database, like
/// another replica.
async fn replica(app: &TestApp) -> Venues {
    let cipher =
        tongxin_platform::pii::PiiCipher::from_base64("venues.pii_key", &app.pii_key).expect("key");
    Venues::new(app.direct_db().await, Default::default()).with_contact_cipher(cipher)
}

/// A held activity organised by `unit` at `venue`, starting at `at`.
async fn held_activity(
    app: &TestApp,
    unit: OrgUnitId,
    venue: VenueId,
    at: DateTime<Utc>,
    attendance: u32,
) {
    activities::insert(
        &app.db,
        &Activity {
            id: ActivityId(Uuid::now_v7()),
            title: "小院宣讲".to_owned(),
            theme: Theme::Policy,
            theme_label: None,
            venue_id: venue,
            org_unit_id: unit,
            starts_at: at,
            ends_at: at + Duration::hours(1),
            capacity: 50,
            speakers: Vec::new(),
            volunteer_ids: Vec::new(),
            status: ActivityStatus::Held,
            cancel_reason: None,
            attendance: Some(attendance),
        },
        "test",
    )
    .await
    .expect("activity");
}

async fn venue_of(app: &TestApp, unit: OrgUnitId, at: Coordinates) -> VenueId {
    let id = VenueId(Uuid::now_v7());
    venues::insert(
        &app.db,
        &Venue {
            id,
            org_unit_id: unit,
            kind: VenueKind::Courtyard,
            name: "小院讲堂".to_owned(),
            address: String::new(),
            location: at,
            capacity: 50,
            facilities: Vec::new(),
            opening_hours: String::new(),
            photo_urls: Vec::new(),
            status: VenueStatus::Active,
        },
    )
    .await
    .expect("venue");
    id
}

fn record_input(unit: &str, at: DateTime<Utc>) -> Value {
    json!({ "i": { "unitId": demo::unit_id(unit).to_string(), "visitedAt": at.to_rfc3339(), "householdsReached": 3 } })
}

fn unit_periods(cadence: &Value, path: &str) -> Vec<(String, u64, String)> {
    cadence["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["unit"]["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {cadence}"))["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                p["start"].as_str().expect("start").to_owned(),
                p["done"].as_u64().expect("done"),
                p["standing"].as_str().expect("standing").to_owned(),
            )
        })
        .collect()
}

/// A visit at Sunday 23:30 local (15:30 UTC) counts in that week, one at Monday 00:30 local
/// (Sunday 16:30 UTC) in the next; an activity on the last day 23:00 local counts in that
/// month, one on the 1st 01:00 local in the next. Reading the dates in UTC would swap them.
#[tokio::test]
async fn cadence_follows_the_districts_clock_across_week_and_month_boundaries() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    // Two weeks back, so both weeks have ended whatever the day.
    let week = CadencePeriod::at(PeriodKind::Week, now)
        .previous()
        .previous();
    let boundary = week.ends_at();
    let token = app.token(&[Role::Staff], Some(paths::HONGQIAO));
    for at in [
        boundary - Duration::minutes(30), // Sunday 23:30 local: this week
        boundary + Duration::minutes(30), // Monday 00:30 local: the next
        boundary + Duration::hours(30),   // Tuesday: the next
    ] {
        let r = app
            .graphql(Some(&token), RECORD, record_input(paths::CAIJIABA, at))
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let r = app
        .graphql(
            Some(&token),
            CADENCE,
            json!({ "u": demo::unit_id(paths::HONGQIAO).to_string(), "p": { "kind": "WEEK", "from": week.start.to_string(), "to": week.next().last_day().to_string() } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let cadence = &r["data"]["cadence"];
    assert_eq!(
        unit_periods(cadence, paths::CAIJIABA),
        vec![
            (week.start.to_string(), 1, "MET".to_owned()),
            (week.next().start.to_string(), 2, "MET".to_owned()),
        ]
    );
    // The station has no rule by default; its courtyard is the one unit listed.
    assert_eq!(cadence["units"].as_array().expect("units").len(), 1);
    assert_eq!(cadence["levels"][0]["level"], "COURTYARD");
    assert_eq!(cadence["levels"][0]["periods"][0]["met"], 1);
    assert_eq!(cadence["units"][0]["metStreak"], 2);

    // Months: the courtyard's activities on either side of a month's end.
    let month = CadencePeriod::at(PeriodKind::Month, now)
        .previous()
        .previous();
    let caijiaba = demo::unit_id(paths::CAIJIABA);
    let hall = venue_of(
        &app,
        caijiaba,
        Coordinates::parse(29.3868, 105.5701).expect("pt"),
    )
    .await;
    let end = month.ends_at();
    held_activity(&app, caijiaba, hall, end - Duration::hours(1), 20).await; // 23:00 on the last day
    held_activity(&app, caijiaba, hall, end + Duration::hours(1), 20).await; // 01:00 on the 1st
    held_activity(&app, caijiaba, hall, end + Duration::days(3), 20).await;
    // Two activities a month from now on: the first month falls short.
    let center = app.token(&[Role::Staff], Some(paths::CENTER));
    let set = app
        .graphql(
            Some(&center),
            SET_RULES,
            json!({ "d": demo::unit_id(paths::CENTER).to_string(), "i": { "courtyardVisitsPerWeek": 1, "courtyardActivitiesPerMonth": 2 } }),
        )
        .await;
    assert!(set["errors"].is_null(), "{set}");
    assert_eq!(set["data"]["setCadenceRules"]["isDefault"], false);
    let r = app
        .graphql(
            Some(&token),
            CADENCE,
            json!({ "u": demo::unit_id(paths::CAIJIABA).to_string(), "p": { "kind": "MONTH", "from": month.start.to_string(), "to": month.next().start.to_string() } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let cadence = &r["data"]["cadence"];
    assert_eq!(
        unit_periods(cadence, paths::CAIJIABA),
        vec![
            (month.start.to_string(), 1, "MISSED".to_owned()),
            (month.next().start.to_string(), 2, "MET".to_owned()),
        ]
    );
    assert_eq!(cadence["units"][0]["metStreak"], 1);
    assert_eq!(cadence["units"][0]["required"], 2);

    // Staff outside the unit's subtree see no cadence; neither do volunteers.
    let outside = app.token(&[Role::Staff], Some("/rc/fenggao"));
    let r = app
        .graphql(
            Some(&outside),
            CADENCE,
            json!({ "u": caijiaba.to_string(), "p": { "kind": "MONTH", "from": month.start.to_string(), "to": month.start.to_string() } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    // More than 12 months is refused.
    let r = app
        .graphql(
            Some(&token),
            CADENCE,
            json!({ "u": caijiaba.to_string(), "p": { "kind": "MONTH", "from": "2026-01-01", "to": "2027-01-01" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    app.stop().await;
}

/// Two scheduler replicas on one database close the same ended periods at the same time:
/// one miss row and one `cadence_missed` event per (unit, period), counted by distinct event
/// ids (each enqueue makes a new id, so JetStream's de-duplication cannot hide a second).
#[tokio::test]
async fn two_schedulers_close_each_miss_once() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.venues.cadence_missed")
        .await
        .expect("subscribe");
    let courtyards = org_units::all_of_kind(&app.db, UnitKind::Courtyard)
        .await
        .expect("courtyards");
    // Every courtyard but one visits in the last ended week and holds its monthly activity.
    let now = Utc::now();
    let week = CadencePeriod::at(PeriodKind::Week, now).previous();
    let month = CadencePeriod::at(PeriodKind::Month, now).previous();
    let lazy = demo::unit_id(paths::CAIJIABA);
    let replica_a = replica(&app).await;
    let (a, b) = (
        Scheduler::new(replica_a.clone(), StdDuration::from_millis(10), 1, 1),
        Scheduler::new(replica(&app).await, StdDuration::from_millis(10), 1, 1),
    );
    let mut rows = Vec::new();
    for c in courtyards.iter().filter(|c| c.id != lazy) {
        rows.push(visits::Model {
            id: Uuid::now_v7(),
            unit_id: c.id.0,
            visited_at: week.starts_at() + Duration::hours(10),
            households_reached: 1,
            needs_count: 0,
            point_cipher: None,
            notes_cipher: None,
            needs_cipher: None,
            recorder: "test".to_owned(),
            created_at: now,
        });
    }
    store::insert_visits(&app.db, rows).await.expect("visits");
    // Months: no activities anywhere, so every courtyard misses the last month.
    let rounds = (0..4).flat_map(|_| [a.round(now), b.round(now)]);
    let closed: usize = futures::future::join_all(rounds)
        .await
        .into_iter()
        .map(|r| r.expect("round"))
        .sum();
    let expected = courtyards.len() + 1;
    assert_eq!(closed, expected);
    let stored = misses::Entity::find().all(&app.db).await.expect("misses");
    assert_eq!(stored.len(), expected);
    let week_misses: Vec<_> = stored.iter().filter(|m| m.kind == "visits").collect();
    assert_eq!(week_misses.len(), 1);
    assert_eq!(week_misses[0].unit_id, lazy.0);
    assert_eq!(week_misses[0].period_start, week.start);
    assert_eq!(
        (
            week_misses[0].required,
            week_misses[0].done,
            week_misses[0].streak
        ),
        (1, 0, 1)
    );
    assert!(
        stored
            .iter()
            .filter(|m| m.kind == "activities")
            .all(|m| m.period_start == month.start)
    );

    // The app's relay publishes the outbox both replicas wrote to.
    let mut ids = HashSet::new();
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    while ids.len() < expected {
        let message = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("events in time")
            .expect("message");
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned())
            .expect("event id");
        ids.insert(id);
    }
    // Nothing more trickles in.
    let extra = tokio::time::timeout(StdDuration::from_millis(1500), events.next()).await;
    assert!(extra.is_err(), "an extra cadence_missed event");
    assert_eq!(ids.len(), expected);

    // Later rounds find everything closed.
    assert_eq!(a.round(now).await.expect("round"), 0);
    app.stop().await;
}

/// The scheduler closes only ended periods, catches up on the look-back after a stop, and
/// each new miss carries the streak so far.
#[tokio::test]
async fn the_scheduler_catches_up_and_counts_streaks() {
    let app = TestApp::spawn().await;
    // Weeks only: no activity rule.
    app.venues
        .set_cadence_rules(
            &staff(paths::CENTER, "center"),
            demo::unit_id(paths::CENTER),
            RulesInput {
                courtyard_visits_per_week: 1,
                courtyard_activities_per_month: 0,
                ..RulesInput::default()
            },
            Utc::now(),
        )
        .await
        .expect("rules");
    let now = Utc::now();
    let current = CadencePeriod::at(PeriodKind::Week, now);
    let caijiaba = demo::unit_id(paths::CAIJIABA);
    // Caijiaba visited three weeks ago only.
    app.venues
        .record_visit(
            &staff(paths::CAIJIABA, "v"),
            NewVisit {
                unit_id: caijiaba.to_string(),
                visited_at: current.previous().previous().previous().starts_at()
                    + Duration::hours(3),
                households_reached: 2,
                point: None,
                notes: None,
                needs_heard: Vec::new(),
            },
            now,
        )
        .await
        .expect("visit");
    let scheduler = Scheduler::new(app.venues.clone(), StdDuration::from_millis(10), 3, 1);
    let courtyards = org_units::all_of_kind(&app.db, UnitKind::Courtyard)
        .await
        .expect("courtyards")
        .len();
    // Three ended weeks: every other courtyard misses all three, Caijiaba the last two.
    assert_eq!(
        scheduler.round(now).await.expect("round"),
        3 * courtyards - 1
    );
    let of_caijiaba = |rows: &[misses::Model]| {
        let mut mine: Vec<(String, i32)> = rows
            .iter()
            .filter(|m| m.unit_id == caijiaba.0)
            .map(|m| (m.period_start.to_string(), m.streak))
            .collect();
        mine.sort();
        mine
    };
    let rows = misses::Entity::find().all(&app.db).await.expect("rows");
    assert_eq!(
        of_caijiaba(&rows),
        vec![
            (current.previous().previous().start.to_string(), 1),
            (current.previous().start.to_string(), 2),
        ]
    );
    assert!(
        rows.iter().all(|m| m.period_start < current.start),
        "an open week closed"
    );
    // A week later (the scheduler was down): one more week per courtyard, streak 3 for
    // Caijiaba, 4 for the others.
    let later = now + Duration::days(7);
    assert_eq!(scheduler.round(later).await.expect("round"), courtyards);
    let rows = misses::Entity::find().all(&app.db).await.expect("rows");
    assert_eq!(of_caijiaba(&rows).last().map(|m| m.1), Some(3));
    let yehewan = demo::unit_id(paths::YEHEWAN).0;
    assert_eq!(
        rows.iter()
            .filter(|m| m.unit_id == yehewan)
            .map(|m| m.streak)
            .max(),
        Some(4)
    );
    assert_eq!(scheduler.round(later).await.expect("round"), 0);
    app.stop().await;
}

#[tokio::test]
async fn bad_visits_and_rules_store_nothing() {
    let app = TestApp::spawn().await;
    let outbox = app.outbox_count().await;
    let token = app.token(&[Role::Staff], Some(paths::HONGQIAO));
    let now = Utc::now();
    let unit = demo::unit_id(paths::CAIJIABA).to_string();
    let base = json!({ "unitId": unit, "visitedAt": (now - Duration::hours(1)).to_rfc3339(), "householdsReached": 3 });
    let with = |patch: Value| {
        let mut input = base.clone();
        for (k, v) in patch.as_object().expect("object") {
            input[k] = v.clone();
        }
        json!({ "i": input })
    };
    for (patch, code) in [
        (
            json!({ "visitedAt": (now + Duration::minutes(10)).to_rfc3339() }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "visitedAt": (now - Duration::days(366)).to_rfc3339() }),
            "BAD_USER_INPUT",
        ),
        (json!({ "householdsReached": 501 }), "BAD_USER_INPUT"),
        (json!({ "householdsReached": -1 }), "BAD_USER_INPUT"),
        (json!({ "notes": "记".repeat(2001) }), "BAD_USER_INPUT"),
        (
            json!({ "needsHeard": vec!["修路灯"; 21] }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "needsHeard": ["好", "需".repeat(501)] }),
            "BAD_USER_INPUT",
        ),
        (json!({ "needsHeard": [" "] }), "BAD_USER_INPUT"),
        (
            json!({ "point": { "lat": 91.0, "lon": 105.0 } }),
            "BAD_USER_INPUT",
        ),
        (json!({ "unitId": "not-a-uuid" }), "BAD_USER_INPUT"),
        (json!({ "unitId": Uuid::new_v4().to_string() }), "NOT_FOUND"),
        (
            json!({ "unitId": demo::unit_id(paths::YEHEWAN).to_string() }),
            "FORBIDDEN",
        ),
    ] {
        let r = app.graphql(Some(&token), RECORD, with(patch.clone())).await;
        assert_eq!(error_code(&r), Some(code), "{patch}: {r}");
    }
    for (token, code) in [
        (
            Some(app.token(&[Role::Citizen], Some(paths::CAIJIABA))),
            "FORBIDDEN",
        ),
        (Some(app.token(&[Role::Volunteer], None)), "FORBIDDEN"),
        (
            Some(app.token(&[Role::Staff], Some(paths::YEHEWAN))),
            "FORBIDDEN",
        ),
        (None, "UNAUTHENTICATED"),
    ] {
        let r = app.graphql(token.as_deref(), RECORD, with(json!({}))).await;
        assert_eq!(error_code(&r), Some(code), "{r}");
    }
    assert_eq!(visits_stored(&app).await, 0);

    let center = app.token(&[Role::Staff], Some(paths::CENTER));
    let district = demo::unit_id(paths::CENTER).to_string();
    let rules = |i: Value| json!({ "d": district, "i": i });
    for (input, code) in [
        (
            json!({ "courtyardVisitsPerWeek": 51, "courtyardActivitiesPerMonth": 1 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "courtyardVisitsPerWeek": -1, "courtyardActivitiesPerMonth": 1 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "courtyardVisitsPerWeek": 1, "courtyardActivitiesPerMonth": 32 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "courtyardVisitsPerWeek": 1, "courtyardActivitiesPerMonth": 1, "stationVisitsPerWeek": 51 }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "courtyardVisitsPerWeek": 1, "courtyardActivitiesPerMonth": 1, "instituteActivitiesPerMonth": -2 }),
            "BAD_USER_INPUT",
        ),
    ] {
        let r = app
            .graphql(Some(&center), SET_RULES, rules(input.clone()))
            .await;
        assert_eq!(error_code(&r), Some(code), "{input}: {r}");
    }
    let ok = json!({ "courtyardVisitsPerWeek": 2, "courtyardActivitiesPerMonth": 1 });
    let institute = app.token(&[Role::Staff], Some(paths::CHANGYUAN));
    let r = app
        .graphql(Some(&institute), SET_RULES, rules(ok.clone()))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(
            Some(&center),
            SET_RULES,
            json!({ "d": demo::unit_id(paths::HONGQIAO).to_string(), "i": ok }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let read = app
        .graphql(
            Some(&institute),
            r#"query($d: ID!) { cadenceRules(districtId: $d) { courtyardVisitsPerWeek isDefault setBy } }"#,
            json!({ "d": district }),
        )
        .await;
    assert_eq!(read["data"]["cadenceRules"]["isDefault"], true, "{read}");
    assert_eq!(read["data"]["cadenceRules"]["courtyardVisitsPerWeek"], 1);
    assert_eq!(
        store::rules_of(&app.db, &[demo::unit_id(paths::CENTER)])
            .await
            .expect("rules")
            .len(),
        0
    );
    assert_eq!(app.outbox_count().await, outbox);
    app.stop().await;
}

/// Recording, listing and reading visits: the point, notes and needs in full for the
/// visitor and staff whose scope covers the unit, withheld for everyone else; sealed at rest;
/// the event carries counts only.
#[tokio::test]
async fn visits_in_graphql_with_masking_outside_scope() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.venues.visit_recorded")
        .await
        .expect("subscribe");
    let volunteer = app.token_as("vol-1", &[Role::Volunteer], Some(paths::HONGQIAO));
    let at = Utc::now() - Duration::minutes(20);
    let mut input = record_input(paths::CAIJIABA, at);
    input["i"]["point"] = json!({ "lat": 29.3871, "lon": 105.5705 });
    input["i"]["notes"] = json!("王奶奶独居,腿脚不便\n下周再来");
    input["i"]["needsHeard"] = json!(["王奶奶需要代办医保", "院坝路灯不亮"]);
    let r = app.graphql(Some(&volunteer), RECORD, input).await;
    assert!(r["errors"].is_null(), "{r}");
    let visit = &r["data"]["recordVisit"];
    assert_eq!(visit["masked"], false);
    assert_eq!(visit["needsHeardCount"], 2);
    assert_eq!(visit["point"]["lat"], 29.3871);
    assert_eq!(visit["unit"]["path"], paths::CAIJIABA);
    let id = visit["id"].as_str().expect("id").to_owned();

    // Sealed at rest.
    let row = visits::Entity::find_by_id(Uuid::parse_str(&id).expect("uuid"))
        .one(&app.db)
        .await
        .expect("row")
        .expect("stored");
    for blob in [&row.notes_cipher, &row.needs_cipher, &row.point_cipher] {
        let blob = blob.as_ref().expect("sealed");
        assert!(!String::from_utf8_lossy(blob).contains("王奶奶"));
        assert!(!String::from_utf8_lossy(blob).contains("29.3871"));
    }
    // The event: counts only.
    let message = tokio::time::timeout(StdDuration::from_secs(10), events.next())
        .await
        .expect("event in time")
        .expect("message");
    use prost::Message as _;
    let body =
        tongxin_proto::events::VisitRecorded::decode(message.payload.as_ref()).expect("decode");
    assert_eq!(
        (
            body.visit_id.as_str(),
            body.needs_heard,
            body.households_reached
        ),
        (id.as_str(), 2, 3)
    );
    assert_eq!(body.unit_path, paths::CAIJIABA);
    assert!(!String::from_utf8_lossy(&message.payload).contains("王奶奶"));

    const LIST: &str = r#"query($u: ID!) { visits(unitId: $u, first: 10) { edges { node { id masked point { lat } notes needsHeard needsHeardCount householdsReached recorder } } pageInfo { hasNextPage } } }"#;
    let list = |token: String, unit: &str| {
        let app = &app;
        let vars = json!({ "u": demo::unit_id(unit).to_string() });
        async move { app.graphql(Some(&token), LIST, vars).await }
    };
    // Staff of the station: in full.
    let r = list(
        app.token(&[Role::Staff], Some(paths::HONGQIAO)),
        paths::CHANGYUAN,
    )
    .await;
    let node = &r["data"]["visits"]["edges"][0]["node"];
    assert_eq!(node["id"], id.as_str(), "{r}");
    assert_eq!(node["masked"], false);
    assert_eq!(node["notes"], "王奶奶独居,腿脚不便\n下周再来");
    assert_eq!(node["needsHeard"][0], "王奶奶需要代办医保");
    assert_eq!(node["recorder"], "vol-1");
    // Staff of another institute: withheld, counts shown.
    let r = list(
        app.token(&[Role::Staff], Some("/rc/fenggao")),
        paths::CENTER,
    )
    .await;
    let node = &r["data"]["visits"]["edges"][0]["node"];
    assert_eq!(node["id"], id.as_str(), "{r}");
    assert_eq!(node["masked"], true);
    assert!(node["point"].is_null() && node["notes"].is_null(), "{node}");
    assert_eq!(node["needsHeard"], json!([]));
    assert_eq!(node["needsHeardCount"], 2);
    assert_eq!(node["householdsReached"], 3);
    // Another volunteer elsewhere: withheld; the visitor themself without a scope: in full.
    let r = list(
        app.token_as("vol-2", &[Role::Volunteer], Some(paths::YEHEWAN)),
        paths::CAIJIABA,
    )
    .await;
    assert_eq!(
        r["data"]["visits"]["edges"][0]["node"]["masked"], true,
        "{r}"
    );
    let r = list(
        app.token_as("vol-1", &[Role::Volunteer], None),
        paths::CAIJIABA,
    )
    .await;
    assert_eq!(
        r["data"]["visits"]["edges"][0]["node"]["masked"], false,
        "{r}"
    );
    // Citizens see no visits.
    let r = list(app.token(&[Role::Citizen], None), paths::CAIJIABA).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

    const ONE: &str = r#"query($id: ID!) { visit(id: $id) { id masked notes visitedOn } }"#;
    let outside = app.token(&[Role::Staff], Some(paths::YEHEWAN));
    let r = app.graphql(Some(&outside), ONE, json!({ "id": id })).await;
    assert_eq!(r["data"]["visit"]["masked"], true, "{r}");
    assert!(r["data"]["visit"]["notes"].is_null());
    let inside = app.token(&[Role::Staff], Some(paths::CAIJIABA));
    let r = app.graphql(Some(&inside), ONE, json!({ "id": id })).await;
    assert_eq!(r["data"]["visit"]["masked"], false, "{r}");
    let r = app
        .graphql(
            Some(&inside),
            ONE,
            json!({ "id": Uuid::new_v4().to_string() }),
        )
        .await;
    assert!(r["data"]["visit"].is_null() && r["errors"].is_null(), "{r}");

    // The courtyard met this week's rule (or the week is still open if the visit fell in
    // the previous one).
    let week = CadencePeriod::at(PeriodKind::Week, at);
    let r = app
        .graphql(
            Some(&inside),
            CADENCE,
            json!({ "u": demo::unit_id(paths::CAIJIABA).to_string(), "p": { "kind": "WEEK", "from": week.start.to_string(), "to": week.start.to_string() } }),
        )
        .await;
    assert_eq!(
        unit_periods(&r["data"]["cadence"], paths::CAIJIABA)[0].1,
        1,
        "{r}"
    );
    assert_eq!(
        unit_periods(&r["data"]["cadence"], paths::CAIJIABA)[0].2,
        "MET"
    );
    app.stop().await;
}

/// `UnitRhythm` over gRPC on a small tree checked by hand.
///
/// /tt (center) → /tt/i1 → /tt/i1/s1 (station, with its own rule: 1 visit a week) → c1, c2.
/// Weeks W1, W2 (the two before the current one): c1 visits in both, c2 twice in W1, s1 once
/// in W1. Months M1, M2 (the two before the current one): c1 holds an activity in both, c2
/// in M2 only.
#[tokio::test]
async fn unit_rhythm_over_grpc_on_a_small_tree() {
    let app = TestApp::spawn_with(false).await;
    let at = Coordinates::parse(29.40, 105.59).expect("pt");
    let unit = |kind, path: &str, parent: Option<&OrgUnit>| OrgUnit {
        id: OrgUnitId(Uuid::now_v7()),
        kind,
        name: format!("测试{path}"),
        code: path.rsplit('/').next().expect("code").to_owned(),
        path: path.to_owned(),
        parent_id: parent.map(|p| p.id),
        district: "tt".to_owned(),
        location: at,
    };
    let center = unit(UnitKind::Center, "/tt", None);
    let institute = unit(UnitKind::Institute, "/tt/i1", Some(&center));
    let station = unit(UnitKind::Station, "/tt/i1/s1", Some(&institute));
    let c1 = unit(UnitKind::Courtyard, "/tt/i1/s1/c1", Some(&station));
    let c2 = unit(UnitKind::Courtyard, "/tt/i1/s1/c2", Some(&station));
    for u in [&center, &institute, &station, &c1, &c2] {
        org_units::insert(&app.db, u, "test").await.expect("unit");
    }
    let boss = Principal {
        subject: "tt-center".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(center.id.0),
        district: Some("tt".to_owned()),
        credential: None,
    };
    let now = Utc::now();
    app.venues
        .set_cadence_rules(
            &boss,
            center.id,
            RulesInput {
                courtyard_visits_per_week: 1,
                courtyard_activities_per_month: 1,
                station_visits_per_week: Some(1),
                ..RulesInput::default()
            },
            now,
        )
        .await
        .expect("rules");
    let w2 = CadencePeriod::at(PeriodKind::Week, now).previous();
    let w1 = w2.previous();
    for (u, week, households) in [
        (&c1, w1, 4),
        (&c1, w2, 5),
        (&c2, w1, 6),
        (&c2, w1, 7),
        (&station, w1, 8),
    ] {
        app.venues
            .record_visit(
                &boss,
                NewVisit {
                    unit_id: u.id.to_string(),
                    visited_at: week.starts_at() + Duration::hours(26),
                    households_reached: households,
                    point: None,
                    notes: None,
                    needs_heard: Vec::new(),
                },
                now,
            )
            .await
            .expect("visit");
    }
    let m2 = CadencePeriod::at(PeriodKind::Month, now).previous();
    let m1 = m2.previous();
    let hall = venue_of(&app, c1.id, at).await;
    held_activity(&app, c1.id, hall, m1.starts_at() + Duration::days(2), 10).await;
    held_activity(&app, c1.id, hall, m2.starts_at() + Duration::days(2), 11).await;
    held_activity(&app, c2.id, hall, m2.ends_at() - Duration::hours(1), 12).await;

    let mut client = RhythmServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let ask =
        |ids: Vec<String>, from: chrono::NaiveDate, to: chrono::NaiveDate| pb::UnitRhythmRequest {
            unit_ids: ids,
            from_date: from.to_string(),
            to_date: to.to_string(),
        };
    let unknown = Uuid::new_v4().to_string();
    let ids = vec![
        station.id.to_string(),
        c2.id.to_string(),
        center.id.to_string(),
        unknown.clone(),
    ];
    let weeks = client
        .unit_rhythm(request_as(
            ask(ids.clone(), w1.start, w2.end),
            Some(&app.service_credential()),
        ))
        .await
        .expect("rhythm")
        .into_inner();
    assert_eq!(weeks.missing_ids, vec![unknown.clone()]);
    let by_id = |r: &pb::UnitRhythmResponse, id: &OrgUnitId| {
        r.units
            .iter()
            .find(|u| u.unit_id == id.to_string())
            .cloned()
            .expect("unit")
    };
    let s = by_id(&weeks, &station.id);
    // c1: 2 due, 2 met; c2: 2 due, 1 met; s1: 2 due, 1 met.
    assert_eq!((s.visit_periods_due, s.visit_periods_met), (6, 4));
    assert_eq!((s.visits, s.households_reached), (5, 30));
    let c = by_id(&weeks, &c2.id);
    assert_eq!(
        (c.visit_periods_due, c.visit_periods_met, c.visits),
        (2, 1, 2)
    );
    assert_eq!(by_id(&weeks, &center.id).visit_periods_met, 4);

    let months = client
        .unit_rhythm(request_as(
            ask(ids, m1.start, m2.end),
            Some(&app.service_credential()),
        ))
        .await
        .expect("rhythm")
        .into_inner();
    let s = by_id(&months, &station.id);
    assert_eq!((s.activity_periods_due, s.activity_periods_met), (4, 3));
    assert_eq!((s.activities_held, s.attendance), (3, 33));
    let c = by_id(&months, &c2.id);
    assert_eq!(
        (
            c.activity_periods_due,
            c.activity_periods_met,
            c.activities_held
        ),
        (2, 1, 1)
    );

    // GetVisit: counts only.
    let visit_id = visits::Entity::find()
        .all(&app.db)
        .await
        .expect("visits")
        .into_iter()
        .find(|v| v.unit_id == station.id.0)
        .expect("station visit")
        .id;
    let visit = client
        .get_visit(request_as(
            pb::GetVisitRequest {
                id: visit_id.to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("visit")
        .into_inner();
    assert_eq!(
        (
            visit.unit_id,
            visit.households_reached,
            visit.recorder.as_str()
        ),
        (station.id.to_string(), 8, "tt-center")
    );
    assert_eq!(visit.visited_on, (w1.start + Duration::days(1)).to_string());
    let missing = client
        .get_visit(request_as(
            pb::GetVisitRequest {
                id: Uuid::new_v4().to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("none");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    // Bad input and no credential.
    let bad = client
        .unit_rhythm(request_as(
            ask(vec!["x".into()], w1.start, w2.end),
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("bad id");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let bad = client
        .unit_rhythm(request_as(
            ask(vec![], w2.end, w1.start),
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("backwards");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let anon = client
        .unit_rhythm(request_as(ask(vec![], w1.start, w2.end), None))
        .await
        .expect_err("no credential");
    assert_eq!(anon.code(), tonic::Code::Unauthenticated);
    app.stop().await;
}

/// The demo year on SQLite (`tongxin run`): the migrations, a year of visits and monthly
/// courtyard activities with their gaps, the misses closed through the scheduler's code path
/// without a single event, and nothing added twice. Prints how long each step took.
#[tokio::test]
async fn the_demo_year_on_sqlite() {
    use tongxin_platform::config::DatabaseSettings;
    use tongxin_venues::migration::Migrator;

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("venues.db").display());
    let db = tongxin_platform::db::connect_and_migrate::<Migrator>(&DatabaseSettings::new(&url))
        .await
        .expect("sqlite");
    let started = std::time::Instant::now();
    demo::seed(&db).await.expect("tree");
    let units = org_units::all(&db).await.expect("units");
    demo::venues::seed_venues_and_activities(&db, &units)
        .await
        .expect("venues");
    let before = started.elapsed();
    let cipher = tongxin_platform::pii::PiiCipher::from_base64(
        "venues.pii_key",
        &tongxin_platform::pii::PiiCipher::generate_key_base64(),
    )
    .expect("key");
    let venues = Venues::new(db.clone(), Default::default()).with_contact_cipher(cipher);
    let now = Utc::now();
    let seeded = demo::rhythm::seed(&venues, now).await.expect("rhythm");
    let rhythm = started.elapsed() - before;
    eprintln!(
        "demo on SQLite: tree, venues and activities {before:?}; the year of visits {rhythm:?} ({seeded:?})"
    );
    let courtyards = org_units::all_of_kind(&db, UnitKind::Courtyard)
        .await
        .expect("c")
        .len();
    assert!(seeded.visits > courtyards * 40, "{seeded:?}");
    assert!(seeded.activities > courtyards * 9, "{seeded:?}");
    assert!(seeded.misses > courtyards, "{seeded:?}");
    assert_eq!(
        tongxin_platform::events::outbox::backlog(&db)
            .await
            .expect("outbox"),
        0,
        "the demo sends no events"
    );
    // The lapsed courtyard: ten missed weeks in a row, the last of them with streak 10.
    let lapsed = demo::unit_id(demo::rhythm::LAPSED_VISITS).0;
    let rows = misses::Entity::find().all(&db).await.expect("misses");
    let last_week = CadencePeriod::at(PeriodKind::Week, now).previous();
    let streak = rows
        .iter()
        .find(|m| m.unit_id == lapsed && m.kind == "visits" && m.period_start == last_week.start)
        .map(|m| m.streak);
    assert!(streak.is_some_and(|s| s >= 9), "{streak:?}");
    // Nothing twice: seeding again adds nothing, a scheduler round finds the year closed.
    assert_eq!(
        demo::rhythm::seed(&venues, now).await.expect("again"),
        Default::default()
    );
    let scheduler = Scheduler::new(venues.clone(), StdDuration::from_millis(10), 4, 2);
    assert_eq!(scheduler.round(now).await.expect("round"), 0);
    // The cadence view works on SQLite too.
    let center = staff(paths::CENTER, "center");
    let view = venues
        .cadence(
            &center,
            demo::unit_id(paths::CHANGYUAN),
            PeriodKind::Week,
            (last_week.start, last_week.start),
            now,
        )
        .await
        .expect("cadence");
    assert_eq!(view.units.len(), 2);
}
