//! Activities: lifecycle and the activity_held event, concurrent moves, bad input, scope,
//! theme counts, upcoming near a point, gRPC.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use futures::StreamExt;
use prost::Message;
use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::venue_service_client::VenueServiceClient;
use tongxin_venues::demo::{self, paths};

use super::venues::create_venue;
use super::{TestApp, error_code};

const CREATE: &str = r#"mutation($input: CreateActivityInput!) {
  createActivity(input: $input) { id status theme themeLabel title capacity speakers volunteerIds
    venue { id } orgUnit { path } startsAt endsAt } }"#;

const HELD: &str = r#"mutation($id: ID!, $input: RecordActivityHeldInput!) {
  recordActivityHeld(id: $id, input: $input) { id status attendance served { volunteerId hours } } }"#;

const CANCEL: &str = r#"mutation($id: ID!, $reason: String!) {
  cancelActivity(id: $id, reason: $reason) { id status cancelReason } }"#;

fn activity_input(
    venue: &str,
    unit_path: &str,
    theme: &str,
    starts_at: DateTime<Utc>,
    hours: i64,
) -> Value {
    json!({ "input": {
        "theme": theme, "title": "民法典进小院",
        "venueId": venue, "orgUnitId": demo::unit_id(unit_path).to_string(),
        "startsAt": starts_at.to_rfc3339(), "endsAt": (starts_at + Span::hours(hours)).to_rfc3339(),
        "capacity": 40, "speakers": ["王律师"],
        "volunteerIds": [uuid::Uuid::new_v4().to_string()]
    }})
}

async fn create_activity(
    app: &TestApp,
    token: &str,
    venue: &str,
    unit_path: &str,
    theme: &str,
    starts_at: DateTime<Utc>,
) -> String {
    let created = app
        .graphql(
            Some(token),
            CREATE,
            activity_input(venue, unit_path, theme, starts_at, 2),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    created["data"]["createActivity"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn activity_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    tongxin_venues::store::activities::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

async fn served_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    tongxin_venues::store::activities::served::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    app.graphql(
        None,
        r#"query($id: ID!) { activity(id: $id) { status attendance cancelReason served { volunteerId hours } } }"#,
        json!({ "id": id }),
    )
    .await["data"]["activity"]
        .clone()
}

#[tokio::test]
async fn an_activity_is_held_once_and_the_event_carries_the_hours() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.venues.activity_held")
        .await
        .expect("subscribe");
    let token = app.token(&[Role::Staff], Some(paths::CHANGYUAN));
    let venue = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 60).await;
    let starts_at = Utc::now() - Span::hours(1);
    // Organised by the station above the courtyard: an ancestor of the venue's unit.
    let created = app
        .graphql(
            Some(&token),
            CREATE,
            activity_input(&venue, paths::HONGQIAO, "LAW", starts_at, 2),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    let activity = &created["data"]["createActivity"];
    assert_eq!(activity["status"], "PLANNED");
    assert_eq!(activity["theme"], "LAW");
    assert_eq!(activity["orgUnit"]["path"], paths::HONGQIAO);
    assert_eq!(activity["venue"]["id"], venue.as_str());
    let id = activity["id"].as_str().expect("id").to_owned();

    let (v1, v2) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let held = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": id, "input": { "attendance": 80, "served": [
                { "volunteerId": v1.to_string(), "hours": 2.5 },
                { "volunteerId": v2.to_string(), "hours": 1.25 } ] } }),
        )
        .await;
    assert!(held["errors"].is_null(), "{held}");
    assert_eq!(held["data"]["recordActivityHeld"]["status"], "HELD");
    assert_eq!(held["data"]["recordActivityHeld"]["attendance"], 80);
    assert_eq!(
        held["data"]["recordActivityHeld"]["served"]
            .as_array()
            .expect("served")
            .len(),
        2
    );

    let message = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("event in time")
        .expect("event");
    let event = tongxin_proto::events::ActivityHeld::decode(message.payload).expect("protobuf");
    assert_eq!(event.activity_id, id);
    assert_eq!(event.theme, pb::Theme::Law as i32);
    assert_eq!(event.venue_id, venue);
    assert_eq!(
        event.org_unit_id,
        demo::unit_id(paths::HONGQIAO).to_string()
    );
    assert_eq!(event.attendance, 80);
    assert_eq!(event.title, "民法典进小院");
    assert_eq!(event.actor, "tester");
    // Volunteers approves at once only the hours of volunteers the recorder's scope covers.
    assert_eq!(event.org_unit_path, paths::HONGQIAO);
    assert_eq!(event.actor_unit_path, paths::CHANGYUAN);
    assert_eq!(event.starts_at_ms, activity_start_ms(&activity["startsAt"]));
    assert_eq!(event.ends_at_ms - event.starts_at_ms, 2 * 3600 * 1000);
    let mut served: Vec<(String, f64)> = event
        .served
        .iter()
        .map(|s| (s.volunteer_id.clone(), s.hours))
        .collect();
    served.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![(v1.to_string(), 2.5), (v2.to_string(), 1.25)];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(served, want);
    let headers = message.headers.expect("headers");
    assert_eq!(
        headers.get("ce-type").map(|v| v.as_str()),
        Some("tongxin.venues.activity_held")
    );

    // Held is final: neither cancel nor a second record moves it.
    let refused = app
        .graphql(Some(&token), CANCEL, json!({ "id": id, "reason": "下雨" }))
        .await;
    assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("held"),
        "{refused}"
    );
    let again = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": id, "input": { "attendance": 1 } }),
        )
        .await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    let now = status_of(&app, &id).await;
    assert_eq!(now["status"], "HELD");
    assert_eq!(now["attendance"], 80);
    assert_eq!(app.outbox_count().await, 1);

    // Another service reads it over gRPC, hours included.
    let mut client = VenueServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let read = client
        .get_activity(request_as(
            pb::GetActivityRequest { id: id.clone() },
            Some(&app.service_credential()),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.status, pb::ActivityStatus::Held as i32);
    assert_eq!(read.attendance, Some(80));
    assert_eq!(read.served.len(), 2);
    assert_eq!(read.speakers, vec!["王律师"]);
    let missing = client
        .get_activity(request_as(
            pb::GetActivityRequest {
                id: uuid::Uuid::new_v4().to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(grpc_reason(&missing).as_deref(), Some("NOT_FOUND"));
    let bad = client
        .get_activity(request_as(
            pb::GetActivityRequest { id: "x".into() },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("bad id");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}

fn activity_start_ms(value: &Value) -> i64 {
    DateTime::parse_from_rfc3339(value.as_str().expect("startsAt"))
        .expect("rfc3339")
        .timestamp_millis()
}

#[tokio::test]
async fn cancel_needs_a_plan_and_held_needs_a_start() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CAIJIABA));
    let venue = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 60).await;
    let future = create_activity(
        &app,
        &token,
        &venue,
        paths::CAIJIABA,
        "HEALTH",
        Utc::now() + Span::days(2),
    )
    .await;

    let early = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": future, "input": { "attendance": 5 } }),
        )
        .await;
    assert_eq!(error_code(&early), Some("BAD_USER_INPUT"), "{early}");
    let blank = app
        .graphql(
            Some(&token),
            CANCEL,
            json!({ "id": future, "reason": "  " }),
        )
        .await;
    assert_eq!(error_code(&blank), Some("BAD_USER_INPUT"), "{blank}");

    let cancelled = app
        .graphql(
            Some(&token),
            CANCEL,
            json!({ "id": future, "reason": "讲师临时有事" }),
        )
        .await;
    assert_eq!(cancelled["data"]["cancelActivity"]["status"], "CANCELLED");
    assert_eq!(
        cancelled["data"]["cancelActivity"]["cancelReason"],
        "讲师临时有事"
    );
    for (query, variables) in [
        (CANCEL, json!({ "id": future, "reason": "again" })),
        (HELD, json!({ "id": future, "input": { "attendance": 5 } })),
    ] {
        let refused = app.graphql(Some(&token), query, variables).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cancelled"),
            "{refused}"
        );
    }
    let missing = app
        .graphql(
            Some(&token),
            CANCEL,
            json!({ "id": uuid::Uuid::new_v4().to_string(), "reason": "x" }),
        )
        .await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"), "{missing}");
    assert_eq!(app.outbox_count().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_records_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let venue = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 60).await;
    for round in 0..3 {
        let id = create_activity(
            &app,
            &token,
            &venue,
            paths::CAIJIABA,
            "THEORY",
            Utc::now() - Span::minutes(30),
        )
        .await;
        let record = |attendance: i32| {
            app.graphql(
                Some(&token),
                HELD,
                json!({ "id": id, "input": { "attendance": attendance, "served": [
                    { "volunteerId": uuid::Uuid::new_v4().to_string(), "hours": 1 } ] } }),
            )
        };
        let (a, b) = tokio::join!(record(10), record(20));
        let wins = [&a, &b].iter().filter(|r| r["errors"].is_null()).count();
        assert_eq!(wins, 1, "round {round}: {a} {b}");
        let loser = if a["errors"].is_null() { &b } else { &a };
        assert_eq!(error_code(loser), Some("CONFLICT"), "{loser}");
        let winner = if a["errors"].is_null() { &a } else { &b };
        let now = status_of(&app, &id).await;
        assert_eq!(
            now["attendance"],
            winner["data"]["recordActivityHeld"]["attendance"]
        );
        assert_eq!(now["served"].as_array().expect("served").len(), 1);
    }
    assert_eq!(app.outbox_count().await, 3);
    assert_eq!(served_count(&app).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn bad_activity_input_names_the_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CHANGYUAN));
    let venue = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 60).await;
    let start = Utc::now() + Span::days(1);
    let base = activity_input(&venue, paths::CAIJIABA, "LAW", start, 2);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/input/endsAt",
            json!((start - Span::hours(1)).to_rfc3339()),
            "endsAt",
        ),
        ("/input/endsAt", json!(start.to_rfc3339()), "endsAt"),
        (
            "/input/endsAt",
            json!((start + Span::days(8)).to_rfc3339()),
            "endsAt",
        ),
        ("/input/title", json!(""), "title"),
        ("/input/title", json!("讲".repeat(201)), "title"),
        ("/input/capacity", json!(0), "capacity"),
        ("/input/capacity", json!(61), "capacity"),
        ("/input/theme", json!("HOLIDAY"), "themeLabel"),
        ("/input/volunteerIds", json!(["nope"]), "volunteerIds[0]"),
        ("/input/speakers", json!(vec!["甲"; 21]), "speakers"),
        (
            "/input/venueId",
            json!(uuid::Uuid::new_v4().to_string()),
            "venueId",
        ),
        ("/input/orgUnitId", json!("x"), "orgUnitId"),
        // Another branch of the tree may not organise at this courtyard.
        (
            "/input/orgUnitId",
            json!(demo::unit_id("/rc/changyuan/huangjinpo").to_string()),
            "orgUnitId",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut variables = base.clone();
        *variables.pointer_mut(pointer).expect("pointer") = value;
        let response = app.graphql(Some(&token), CREATE, variables).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{pointer}: {response}"
        );
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{field} not in {message}");
    }
    assert_eq!(activity_count(&app).await, 0);

    // Attendance above twice the capacity, or negative; bad hours.
    let id = create_activity(
        &app,
        &token,
        &venue,
        paths::CAIJIABA,
        "LAW",
        Utc::now() - Span::hours(1),
    )
    .await;
    let volunteer = uuid::Uuid::new_v4().to_string();
    for (input, field) in [
        (json!({ "attendance": 81 }), "attendance"),
        (json!({ "attendance": -1 }), "attendance"),
        (
            json!({ "attendance": 10, "served": [{ "volunteerId": volunteer, "hours": 0 }] }),
            "served[0].hours",
        ),
        (
            json!({ "attendance": 10, "served": [{ "volunteerId": volunteer, "hours": 1.1 }] }),
            "served[0].hours",
        ),
        (
            json!({ "attendance": 10, "served": [{ "volunteerId": volunteer, "hours": 25 }] }),
            "served[0].hours",
        ),
        (
            json!({ "attendance": 10, "served": [
                { "volunteerId": volunteer, "hours": 1 }, { "volunteerId": volunteer, "hours": 2 }] }),
            "served[1].volunteerId",
        ),
    ] {
        let response = app
            .graphql(Some(&token), HELD, json!({ "id": id, "input": input }))
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{field} not in {message}");
    }
    let now = status_of(&app, &id).await;
    assert_eq!(now["status"], "PLANNED");
    assert!(now["attendance"].is_null());
    assert_eq!(served_count(&app).await, 0);
    assert_eq!(app.outbox_count().await, 0);
    // Exactly twice the capacity is fine.
    let ok = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": id, "input": { "attendance": 80 } }),
        )
        .await;
    assert!(ok["errors"].is_null(), "{ok}");
    app.stop().await;
}

#[tokio::test]
async fn activity_writes_need_staff_in_scope_and_an_active_venue() {
    let app = TestApp::spawn().await;
    let own = app.token(&[Role::Staff], Some(paths::HONGQIAO));
    let venue = create_venue(&app, &own, paths::CAIJIABA, 29.3868, 105.5701, 60).await;
    let input = activity_input(
        &venue,
        paths::CAIJIABA,
        "SCIENCE",
        Utc::now() - Span::hours(1),
        2,
    );
    let anonymous = app.graphql(None, CREATE, input.clone()).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    let fenggao = app.token(&[Role::Staff], Some("/rc/fenggao"));
    let refused = app.graphql(Some(&fenggao), CREATE, input.clone()).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let volunteer = app.token(&[Role::Volunteer], Some(paths::CAIJIABA));
    let refused = app.graphql(Some(&volunteer), CREATE, input.clone()).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");

    let id = create_activity(
        &app,
        &own,
        &venue,
        paths::CAIJIABA,
        "SCIENCE",
        Utc::now() - Span::hours(1),
    )
    .await;
    for (query, variables) in [
        (HELD, json!({ "id": id, "input": { "attendance": 5 } })),
        (CANCEL, json!({ "id": id, "reason": "x" })),
    ] {
        let refused = app.graphql(Some(&fenggao), query, variables.clone()).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
        let refused = app.graphql(None, query, variables).await;
        assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
    }
    assert_eq!(status_of(&app, &id).await["status"], "PLANNED");

    // An archived venue takes no new activities; its old ones stay readable.
    let archived = app
        .graphql(
            Some(&own),
            r#"mutation($id: ID!) { archiveVenue(id: $id) { status } }"#,
            json!({ "id": venue }),
        )
        .await;
    assert!(archived["errors"].is_null(), "{archived}");
    let refused = app.graphql(Some(&own), CREATE, input).await;
    assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
    assert_eq!(activity_count(&app).await, 1);
    let read = app
        .graphql(
            None,
            r#"query($id: ID!) { activity(id: $id) { venue { status } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["activity"]["venue"]["status"], "ARCHIVED");
    app.stop().await;
}

const COUNTS: &str = r#"query($unit: ID!, $from: DateTime, $to: DateTime) {
  themeCounts(unitId: $unit, from: $from, to: $to) {
    unit { path } activities themes { theme activities held attendance }
    children { unit { path } activities themes { theme activities held attendance } } } }"#;

fn theme<'a>(themes: &'a Value, name: &str) -> &'a Value {
    themes
        .as_array()
        .expect("themes")
        .iter()
        .find(|t| t["theme"] == name)
        .expect("theme present")
}

fn child<'a>(counts: &'a Value, path: &str) -> &'a Value {
    counts["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|c| c["unit"]["path"] == path)
        .expect("child present")
}

#[tokio::test]
async fn theme_counts_roll_up_through_the_levels() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let caijiaba = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 100).await;
    let c01 = create_venue(&app, &token, "/rc/fenggao/s01/c01", 29.4451, 105.6562, 100).await;
    let past = Utc::now() - Span::hours(3);
    // A1: law at the courtyard, held with 30.
    let a1 = create_activity(&app, &token, &caijiaba, paths::CAIJIABA, "LAW", past).await;
    let r = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": a1, "input": { "attendance": 30 } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // A2: law at the courtyard organised by its station, planned.
    create_activity(&app, &token, &caijiaba, paths::HONGQIAO, "LAW", past).await;
    // A3: health organised by the street, cancelled: not counted.
    let a3 = create_activity(&app, &token, &caijiaba, paths::CHANGYUAN, "HEALTH", past).await;
    let r = app
        .graphql(Some(&token), CANCEL, json!({ "id": a3, "reason": "停电" }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // A4: health in 峰高, next week.
    create_activity(
        &app,
        &token,
        &c01,
        "/rc/fenggao/s01/c01",
        "HEALTH",
        Utc::now() + Span::days(7),
    )
    .await;
    // A5: law organised by the street itself (counts for the street, under no station).
    let a5 = create_activity(&app, &token, &caijiaba, paths::CHANGYUAN, "LAW", past).await;
    let r = app
        .graphql(
            Some(&token),
            HELD,
            json!({ "id": a5, "input": { "attendance": 12 } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    let center = app
        .graphql(
            None,
            COUNTS,
            json!({ "unit": demo::unit_id(paths::CENTER).to_string() }),
        )
        .await;
    assert!(center["errors"].is_null(), "{center}");
    let c = &center["data"]["themeCounts"];
    assert_eq!(c["activities"], 4);
    assert_eq!(
        theme(&c["themes"], "LAW"),
        &json!({ "theme": "LAW", "activities": 3, "held": 2, "attendance": 42 })
    );
    assert_eq!(theme(&c["themes"], "HEALTH")["activities"], 1);
    assert_eq!(theme(&c["themes"], "THEORY")["activities"], 0);
    assert_eq!(c["themes"].as_array().expect("themes").len(), 9);
    let children: Vec<&str> = c["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|x| x["unit"]["path"].as_str())
        .collect();
    // Every child, ordered by path, the named ones among them.
    let mut sorted = children.clone();
    sorted.sort();
    assert_eq!(children, sorted);
    for named in [
        "/rc/changyuan",
        "/rc/fenggao",
        "/rc/industrial-park",
        "/rc/zhisheng",
    ] {
        assert!(children.contains(&named), "{named}");
    }
    let others: u64 = c["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter(|x| x["unit"]["path"] != "/rc/changyuan" && x["unit"]["path"] != "/rc/fenggao")
        .map(|x| x["activities"].as_u64().expect("n"))
        .sum();
    assert_eq!(others, 0);
    assert_eq!(child(c, "/rc/changyuan")["activities"], 3);
    assert_eq!(
        theme(&child(c, "/rc/changyuan")["themes"], "HEALTH")["activities"],
        0
    );
    assert_eq!(
        theme(&child(c, "/rc/fenggao")["themes"], "HEALTH")["activities"],
        1
    );
    assert_eq!(child(c, "/rc/zhisheng")["activities"], 0);

    // One level down: the street's own activity counts in its total, not in any station.
    let street = app
        .graphql(
            None,
            COUNTS,
            json!({ "unit": demo::unit_id(paths::CHANGYUAN).to_string() }),
        )
        .await;
    let s = &street["data"]["themeCounts"];
    assert_eq!(theme(&s["themes"], "LAW")["activities"], 3);
    assert_eq!(
        theme(&child(s, paths::HONGQIAO)["themes"], "LAW"),
        &json!({ "theme": "LAW", "activities": 2, "held": 1, "attendance": 30 })
    );
    assert_eq!(child(s, "/rc/changyuan/huangjinpo")["activities"], 0);

    // A period: up to tomorrow leaves out next week's activity.
    let period = app
        .graphql(
            None,
            COUNTS,
            json!({ "unit": demo::unit_id(paths::CENTER).to_string(),
                    "from": (Utc::now() - Span::days(1)).to_rfc3339(),
                    "to": (Utc::now() + Span::days(1)).to_rfc3339() }),
        )
        .await;
    assert_eq!(period["data"]["themeCounts"]["activities"], 3);
    let inverted = app
        .graphql(
            None,
            COUNTS,
            json!({ "unit": demo::unit_id(paths::CENTER).to_string(),
                    "from": Utc::now().to_rfc3339(), "to": (Utc::now() - Span::days(1)).to_rfc3339() }),
        )
        .await;
    assert_eq!(error_code(&inverted), Some("BAD_USER_INPUT"), "{inverted}");

    // The same subtree and period through the list.
    let list = app
        .graphql(
            None,
            r#"query($unit: ID!) { activities(unitId: $unit, theme: LAW, status: HELD, first: 1) {
                edges { cursor node { attendance } } pageInfo { hasNextPage endCursor } } }"#,
            json!({ "unit": demo::unit_id(paths::CHANGYUAN).to_string() }),
        )
        .await;
    assert!(list["errors"].is_null(), "{list}");
    assert_eq!(list["data"]["activities"]["pageInfo"]["hasNextPage"], true);
    let in_station = app
        .graphql(
            None,
            r#"query($unit: ID!) { activities(unitId: $unit) { edges { node { id } } } }"#,
            json!({ "unit": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    assert_eq!(
        in_station["data"]["activities"]["edges"]
            .as_array()
            .expect("edges")
            .len(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn upcoming_activities_near_a_point_nearest_first() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    // A point, and venues about 0.5 km, 1.1 km and 3.3 km north of it (0.01° ≈ 1.11 km).
    let (lat, lon) = (29.40, 105.59);
    let near = create_venue(&app, &token, paths::CAIJIABA, lat + 0.0045, lon, 100).await;
    let mid = create_venue(&app, &token, paths::HONGQIAO, lat + 0.01, lon, 100).await;
    let far = create_venue(&app, &token, paths::CHANGYUAN, lat + 0.03, lon, 100).await;
    let soon = Utc::now() + Span::hours(2);
    let later = Utc::now() + Span::days(3);
    let far_soon = create_activity(&app, &token, &far, paths::CHANGYUAN, "LAW", soon).await;
    let mid_later = create_activity(&app, &token, &mid, paths::HONGQIAO, "LAW", later).await;
    let mid_soon = create_activity(&app, &token, &mid, paths::HONGQIAO, "HEALTH", soon).await;
    let near_later = create_activity(&app, &token, &near, paths::CAIJIABA, "LAW", later).await;
    // Not upcoming: already started, or cancelled.
    create_activity(
        &app,
        &token,
        &near,
        paths::CAIJIABA,
        "LAW",
        Utc::now() - Span::hours(1),
    )
    .await;
    let cancelled = create_activity(&app, &token, &near, paths::CAIJIABA, "LAW", soon).await;
    let r = app
        .graphql(
            Some(&token),
            CANCEL,
            json!({ "id": cancelled, "reason": "x" }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    let query = r#"query($lat: Float!, $lon: Float!, $r: Float, $first: Int) {
        upcomingActivitiesNear(lat: $lat, lon: $lon, radiusKm: $r, first: $first) {
            distanceM activity { id status } } }"#;
    let found = app
        .graphql(None, query, json!({ "lat": lat, "lon": lon, "r": 5.0 }))
        .await;
    assert!(found["errors"].is_null(), "{found}");
    let list = found["data"]["upcomingActivitiesNear"]
        .as_array()
        .expect("list");
    let ids: Vec<&str> = list
        .iter()
        .filter_map(|x| x["activity"]["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            near_later.as_str(),
            mid_soon.as_str(),
            mid_later.as_str(),
            far_soon.as_str()
        ]
    );
    let d0 = list[0]["distanceM"].as_f64().expect("d");
    assert!((d0 - 500.4).abs() < 2.0, "{d0}");
    let d3 = list[3]["distanceM"].as_f64().expect("d");
    assert!((d3 - 3335.8).abs() < 5.0, "{d3}");

    let within_2km = app
        .graphql(
            None,
            query,
            json!({ "lat": lat, "lon": lon, "r": 2.0, "first": 2 }),
        )
        .await;
    let ids: Vec<&str> = within_2km["data"]["upcomingActivitiesNear"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["activity"]["id"].as_str())
        .collect();
    assert_eq!(ids, vec![near_later.as_str(), mid_soon.as_str()]);

    for bad in [
        json!({ "lat": 91.0, "lon": lon }),
        json!({ "lat": lat, "lon": lon, "r": 0.0 }),
        json!({ "lat": lat, "lon": lon, "r": 51.0 }),
        json!({ "lat": lat, "lon": lon, "first": 0 }),
    ] {
        let refused = app.graphql(None, query, bad).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    }
    app.stop().await;
}

#[tokio::test]
async fn get_activity_over_grpc_for_a_planned_one() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::YEHEWAN));
    let venue = create_venue(&app, &token, paths::YEHEWAN, 29.5231, 105.5198, 50).await;
    let input = json!({ "input": {
        "theme": "HOLIDAY", "themeLabel": "重阳节", "title": "重阳敬老活动",
        "venueId": venue, "orgUnitId": demo::unit_id(paths::YEHEWAN).to_string(),
        "startsAt": "2030-10-11T01:00:00Z", "endsAt": "2030-10-11T03:30:00Z", "capacity": 50
    }});
    let created = app.graphql(Some(&token), CREATE, input).await;
    assert!(created["errors"].is_null(), "{created}");
    assert_eq!(created["data"]["createActivity"]["themeLabel"], "重阳节");
    let id = created["data"]["createActivity"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut client = VenueServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let caller = Principal {
        subject: "volunteers-service".to_owned(),
        roles: vec![Role::Staff],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    };
    let read = client
        .get_activity(request_as(
            pb::GetActivityRequest { id: id.clone() },
            Some(&app.credential(&caller)),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.id, id);
    assert_eq!(read.theme, pb::Theme::Holiday as i32);
    assert_eq!(read.theme_label.as_deref(), Some("重阳节"));
    assert_eq!(read.status, pb::ActivityStatus::Planned as i32);
    assert_eq!(read.attendance, None);
    assert!(read.served.is_empty());
    assert_eq!(read.venue_id, venue);
    assert_eq!(read.org_unit_id, demo::unit_id(paths::YEHEWAN).to_string());
    assert_eq!(read.ends_at_ms - read.starts_at_ms, 150 * 60 * 1000);
    assert_eq!(
        read.starts_at_ms,
        DateTime::parse_from_rfc3339("2030-10-11T01:00:00Z")
            .expect("t")
            .timestamp_millis()
    );
    app.stop().await;
}
