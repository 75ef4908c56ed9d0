//! The hours ledger: recording, approval and decline by staff in scope, bad input, the
//! 24-hours-a-day rule, concurrent decisions, gRPC RecordHours, and idempotent crediting
//! from `activity_held` / `order_completed` published to the test's NATS.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::config::EventsSettings;
use tongxin_platform::events::Event;
use tongxin_proto::events as pb_events;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use uuid::Uuid;

use crate::{REGISTER, TestApp, error_code, id_card, input, units};

/// Service logs in the test output (shown for failing tests), once per binary.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("tongxin=info,tongxin_volunteers=info,tongxin_platform=info")
        .with_test_writer()
        .try_init();
}

/// Registers a volunteer at `path` (as staff of Changyuan unless `token` is given); returns
/// their id.
pub async fn register(app: &TestApp, token: Option<&str>, seq: u32, path: &str) -> String {
    logs();
    let staff = app.staff(units::CHANGYUAN);
    let token = token.unwrap_or(&staff);
    let id = id_card(&format!("50015319900307{seq:03}"));
    let phone = format!("1381234{seq:04}");
    let r = app
        .graphql(
            Some(token),
            REGISTER,
            json!({ "input": input(&id, &phone, path) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["registerVolunteer"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

pub const RECORD: &str = r#"mutation($input: RecordHoursInput!) {
  recordHours(input: $input) { id hours status serviceDate place source recorder }
}"#;
pub const APPROVE: &str =
    r#"mutation($id: ID!) { approveHours(id: $id) { id status decidedBy decidedAt } }"#;
pub const DECLINE: &str = r#"mutation($id: ID!, $reason: String!) { declineHours(id: $id, reason: $reason) { id status declineReason } }"#;

/// Recording input: `hours` on `date` for `volunteer`.
pub fn hours(volunteer: &str, hours: f64, date: &str) -> Value {
    json!({ "input": {
        "volunteerId": volunteer, "hours": hours, "serviceDate": date,
        "place": "虹桥社区", "content": "助老服务"
    }})
}

/// Records and approves `h` hours on `date` as `staff`; returns the entry id.
pub async fn credit(app: &TestApp, staff: &str, volunteer: &str, h: f64, date: &str) -> String {
    let r = app
        .graphql(Some(staff), RECORD, hours(volunteer, h, date))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let entry = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let a = app
        .graphql(Some(staff), APPROVE, json!({ "id": entry }))
        .await;
    assert_eq!(a["data"]["approveHours"]["status"], "APPROVED", "{a}");
    entry
}

const TOTALS: &str =
    r#"query($id: ID!) { volunteer(id: $id) { hours { approved pending } starLevel } }"#;

#[tokio::test]
async fn approval_flow_with_bad_input_scope_and_the_day_limit() {
    let app = TestApp::spawn().await;
    let v = register(&app, None, 101, units::HONGQIAO).await;
    let staff = app.staff(units::CHANGYUAN);
    let outsider = app.staff(units::FENGGAO);
    let day = "2026-11-02";

    // Outside the scope, and bad hours: nothing stored.
    let r = app
        .graphql(Some(&outsider), RECORD, hours(&v, 2.0, day))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    for bad in [-1.0, 0.0, 24.5, 0.3] {
        let r = app.graphql(Some(&staff), RECORD, hours(&v, bad, day)).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad}: {r}");
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .expect("msg")
                .starts_with("hours:")
        );
    }
    let r = app
        .graphql(Some(&staff), RECORD, hours(&v, 2.0, "2099-01-01"))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "future date: {r}");
    let r = app
        .graphql(
            Some(&staff),
            RECORD,
            hours(&Uuid::now_v7().to_string(), 2.0, day),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let anonymous = app.graphql(None, RECORD, hours(&v, 2.0, day)).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    assert_eq!(entry_count(&app).await, 0);

    // 20 h, then 5 h more the same day is over 24: refused, nothing stored.
    let r = app
        .graphql(Some(&staff), RECORD, hours(&v, 20.0, day))
        .await;
    assert_eq!(r["data"]["recordHours"]["status"], "PENDING", "{r}");
    assert_eq!(r["data"]["recordHours"]["source"], "MANUAL");
    let first = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app.graphql(Some(&staff), RECORD, hours(&v, 5.0, day)).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .expect("msg")
            .contains("24")
    );
    assert_eq!(entry_count(&app).await, 1);
    let r = app.graphql(Some(&staff), RECORD, hours(&v, 4.0, day)).await;
    let second = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let t = app.graphql(Some(&staff), TOTALS, json!({ "id": v })).await;
    assert_eq!(
        t["data"]["volunteer"]["hours"],
        json!({ "approved": 0.0, "pending": 24.0 })
    );

    // Approve once; a second decision on it is a CONFLICT; outsiders may not decide.
    let r = app
        .graphql(Some(&outsider), APPROVE, json!({ "id": first }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(Some(&staff), APPROVE, json!({ "id": first }))
        .await;
    assert_eq!(r["data"]["approveHours"]["status"], "APPROVED", "{r}");
    assert_eq!(
        r["data"]["approveHours"]["decidedBy"],
        format!("staff-{}", units::CHANGYUAN)
    );
    let r = app
        .graphql(Some(&staff), APPROVE, json!({ "id": first }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .graphql(
            Some(&staff),
            DECLINE,
            json!({ "id": first, "reason": "late" }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .graphql(Some(&staff), DECLINE, json!({ "id": second, "reason": "" }))
        .await;
    assert_eq!(
        error_code(&r),
        Some("BAD_USER_INPUT"),
        "reason required: {r}"
    );
    let r = app
        .graphql(
            Some(&staff),
            DECLINE,
            json!({ "id": second, "reason": "no sign-in sheet" }),
        )
        .await;
    assert_eq!(r["data"]["declineHours"]["status"], "DECLINED", "{r}");
    let r = app
        .graphql(
            Some(&staff),
            APPROVE,
            json!({ "id": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    let t = app.graphql(Some(&staff), TOTALS, json!({ "id": v })).await;
    assert_eq!(
        t["data"]["volunteer"]["hours"],
        json!({ "approved": 20.0, "pending": 0.0 })
    );
    // Declined hours no longer fill the day: 4 h fit again.
    let r = app.graphql(Some(&staff), RECORD, hours(&v, 4.0, day)).await;
    assert!(r["errors"].is_null(), "{r}");

    // The declined entry stays visible, as declined, with its reason.
    const LIST: &str = r#"query($v: ID, $s: HoursStatus) { hoursEntries(volunteerId: $v, status: $s) {
        edges { node { id status hours declineReason } } } }"#;
    let all = app.graphql(Some(&staff), LIST, json!({ "v": v })).await;
    let edges = all["data"]["hoursEntries"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 3, "{all}");
    let declined = app
        .graphql(Some(&staff), LIST, json!({ "v": v, "s": "DECLINED" }))
        .await;
    assert_eq!(
        declined["data"]["hoursEntries"]["edges"][0]["node"],
        json!({ "id": second, "status": "DECLINED", "hours": 4.0, "declineReason": "no sign-in sheet" })
    );
    // The approval queue of the scope; outsiders see none of it.
    let queue = app
        .graphql(Some(&staff), LIST, json!({ "s": "PENDING" }))
        .await;
    assert_eq!(
        queue["data"]["hoursEntries"]["edges"]
            .as_array()
            .expect("e")
            .len(),
        1,
        "{queue}"
    );
    let queue = app
        .graphql(Some(&outsider), LIST, json!({ "s": "PENDING" }))
        .await;
    assert_eq!(queue["data"]["hoursEntries"]["edges"], json!([]), "{queue}");
    let r = app.graphql(Some(&outsider), LIST, json!({ "v": v })).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"));
    let r = app
        .graphql(Some(&app.citizen("wechat:x")), LIST, json!({ "v": v }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"));

    // Points: 10 per approved hour by default.
    let p = app
        .graphql(
            Some(&staff),
            r#"query($v: ID!) { pointsBalance(volunteerId: $v) pointsEntries(volunteerId: $v) { edges { node { source points } } } }"#,
            json!({ "v": v }),
        )
        .await;
    assert_eq!(p["data"]["pointsBalance"], 200.0, "{p}");
    assert_eq!(
        p["data"]["pointsEntries"]["edges"][0]["node"],
        json!({ "source": "hours", "points": 200.0 })
    );
    app.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_decisions_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let v = register(&app, None, 102, units::HONGQIAO).await;
    let staff = app.staff(units::CHANGYUAN);
    let other = app.staff(units::HONGQIAO);
    for round in 0..3 {
        let r = app
            .graphql(
                Some(&staff),
                RECORD,
                hours(&v, 1.0, &format!("2026-10-0{}", round + 1)),
            )
            .await;
        let id = r["data"]["recordHours"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let (a, d) = tokio::join!(
            app.graphql(Some(&staff), APPROVE, json!({ "id": id })),
            app.graphql(
                Some(&other),
                DECLINE,
                json!({ "id": id, "reason": "duplicate" })
            ),
        );
        let wins = [&a, &d].iter().filter(|r| r["errors"].is_null()).count();
        let conflicts = [&a, &d]
            .iter()
            .filter(|r| error_code(r) == Some("CONFLICT"))
            .count();
        assert_eq!((wins, conflicts), (1, 1), "{a} {d}");
    }
    // Totals agree with the decisions that won.
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT CAST(SUM(CASE WHEN status = 'approved' THEN quarters ELSE 0 END) AS BIGINT) AS a, \
             (SELECT approved_quarters FROM volunteer_stats) AS s, \
             (SELECT pending_quarters FROM volunteer_stats) AS p FROM hours_entries",
        ))
        .await
        .expect("query");
    let (a, s, p): (i64, i64, i64) = (
        rows[0].try_get("", "a").expect("a"),
        rows[0].try_get("", "s").expect("s"),
        rows[0].try_get("", "p").expect("p"),
    );
    assert_eq!((a, p), (s, 0));
    app.stop().await;
}

#[tokio::test]
async fn record_hours_over_grpc() {
    let app = TestApp::spawn().await;
    let v = register(&app, None, 103, units::HONGQIAO).await;
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let staff = Principal {
        subject: "orders-service".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(units::id(units::CHANGYUAN)),
        district: Some("rc".to_owned()),
        credential: None,
    };
    let order = Uuid::now_v7().to_string();
    let request = |hours: f64| pb::RecordHoursRequest {
        volunteer_id: v.clone(),
        source: "order".to_owned(),
        source_id: Some(order.clone()),
        hours,
        service_date: "2026-11-01".to_owned(),
        place: "蔡家坝".to_owned(),
        content: "维修".to_owned(),
        evaluation: Some("满意".to_owned()),
    };
    let entry = client
        .record_hours(tongxin_platform::grpc::request_as(
            request(1.5),
            Some(&app.credential(&staff)),
        ))
        .await
        .expect("record")
        .into_inner();
    assert_eq!(
        (
            entry.status.as_str(),
            entry.hours,
            entry.source.as_str(),
            entry.recorder.as_str()
        ),
        ("pending", 1.5, "order", "orders-service")
    );
    assert_eq!(entry.source_id.as_deref(), Some(order.as_str()));
    // The same order again for the same volunteer: one entry per order and volunteer.
    let again = client
        .record_hours(tongxin_platform::grpc::request_as(
            request(1.5),
            Some(&app.credential(&staff)),
        ))
        .await
        .expect_err("duplicate");
    assert_eq!(
        tongxin_platform::error::grpc_reason(&again).as_deref(),
        Some("CONFLICT")
    );
    let bad = client
        .record_hours(tongxin_platform::grpc::request_as(
            request(30.0),
            Some(&app.credential(&staff)),
        ))
        .await
        .expect_err("bad hours");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        tongxin_platform::error::grpc_reason(&bad).as_deref(),
        Some("BAD_USER_INPUT")
    );
    let anonymous = client
        .record_hours(request(1.0))
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let outsider = Principal {
        unit: Some(units::id(units::FENGGAO)),
        ..staff.clone()
    };
    let denied = client
        .record_hours(tongxin_platform::grpc::request_as(
            request(1.0),
            Some(&app.credential(&outsider)),
        ))
        .await
        .expect_err("outside scope");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert_eq!(entry_count(&app).await, 1);
    app.stop().await;
}

async fn entry_count(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM hours_entries").await
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("query")
        .expect("row")
        .try_get("", "n")
        .expect("n")
}

fn event(subject: &str, id: Uuid, body: Vec<u8>) -> Event {
    Event {
        id,
        subject: subject.to_owned(),
        ce_type: subject.to_owned(),
        source: "tests".to_owned(),
        time: Utc::now(),
        traceparent: None,
        payload: body.into(),
    }
}

fn ms(y: i32, m: u32, d: u32, h: u32) -> i64 {
    // Local 08:00 is 00:00 UTC: the service date is the local (UTC+8) date.
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("time")
        .timestamp_millis()
}

#[tokio::test]
async fn credits_from_events_are_idempotent_and_a_star_is_announced_once() {
    let app = TestApp::spawn().await;
    app.volunteers
        .remember_unit(units::id("/rc"), "/rc")
        .await
        .expect("district unit");
    let v = register(&app, None, 104, units::HONGQIAO).await;
    let center = app.staff("/rc");

    // Thresholds: center staff only, strictly increasing.
    const SET: &str = r#"mutation($t: [Float!]!) { setStarThresholds(district: "rc", thresholds: $t) { starThresholds pointsPerHour } }"#;
    for bad in [
        json!([10.0, 10.0]),
        json!([20.0, 10.0]),
        json!([]),
        json!([-1.0]),
    ] {
        let r = app.graphql(Some(&center), SET, json!({ "t": bad })).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad}: {r}");
    }
    let r = app
        .graphql(
            Some(&app.staff(units::CHANGYUAN)),
            SET,
            json!({ "t": [10.0, 20.0] }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(Some(&center), SET, json!({ "t": [10.0, 20.0] }))
        .await;
    assert_eq!(
        r["data"]["setStarThresholds"],
        json!({ "starThresholds": [10.0, 20.0], "pointsPerHour": 10 }),
        "{r}"
    );

    let nats = app.nats.client().await;
    let mut stars = nats
        .subscribe("tongxin.volunteers.star_reached")
        .await
        .expect("sub");
    let bus = tongxin_platform::events::connect(&EventsSettings {
        nats_url: app.nats.url(),
        ..EventsSettings::default()
    })
    .await
    .expect("bus");

    let activity = Uuid::now_v7();
    let held = |served: Vec<(String, f64)>| {
        pb_events::ActivityHeld {
            activity_id: activity.to_string(),
            title: "法治讲堂".to_owned(),
            venue_id: Uuid::now_v7().to_string(),
            starts_at_ms: ms(2026, 11, 1, 1),
            ends_at_ms: ms(2026, 11, 1, 3),
            attendance: 40,
            served: served
                .into_iter()
                .map(|(volunteer_id, hours)| tongxin_proto::venues::ServedHours {
                    volunteer_id,
                    hours,
                })
                .collect(),
            actor: "staff-venues".to_owned(),
            // The recorder's scope covers v (of 虹桥): approved at once.
            actor_unit_path: units::CHANGYUAN.to_owned(),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let first_id = Uuid::now_v7();
    let order = Uuid::now_v7();
    let completed = |h: f64| {
        pb_events::OrderChanged {
            order_id: order.to_string(),
            order_no: "RC-0001".to_owned(),
            category_code: "repair".to_owned(),
            holding_unit_path: units::HONGQIAO.to_owned(),
            district: "rc".to_owned(),
            volunteer_ids: vec![v.clone()],
            hours: vec![pb_events::VolunteerHours {
                volunteer_id: v.clone(),
                hours: h,
            }],
            occurred_at_ms: ms(2026, 11, 2, 2),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let rated = pb_events::OrderChanged {
        order_id: order.to_string(),
        volunteer_ids: vec![v.clone(), Uuid::now_v7().to_string()],
        rating: Some(4),
        occurred_at_ms: ms(2026, 11, 3, 2),
        ..Default::default()
    }
    .encode_to_vec();
    let unknown = Uuid::now_v7().to_string();
    let batch = vec![
        // 6 h for v; an unknown volunteer and a malformed id are skipped, not poison.
        event(
            "tongxin.venues.activity_held",
            first_id,
            held(vec![
                (v.clone(), 6.0),
                (unknown, 3.0),
                ("not-a-uuid".to_owned(), 1.0),
            ]),
        ),
        // The same event id again: JetStream drops it within its duplicate window (a
        // redelivery that reaches the consumer is in `a_team_completion_…`). The same
        // activity under another event id reaches the consumer and credits nothing more.
        event(
            "tongxin.venues.activity_held",
            first_id,
            held(vec![(v.clone(), 6.0)]),
        ),
        event(
            "tongxin.venues.activity_held",
            Uuid::now_v7(),
            held(vec![(v.clone(), 6.0)]),
        ),
        // 6 h more from an order: 12 h crosses the first threshold (10 h).
        event(
            "tongxin.orders.order_completed",
            Uuid::now_v7(),
            completed(6.0),
        ),
        event(
            "tongxin.orders.order_completed",
            Uuid::now_v7(),
            completed(6.0),
        ),
        // An unrelated order event is acknowledged and ignored; a rating earns points.
        event(
            "tongxin.orders.order_placed",
            Uuid::now_v7(),
            completed(6.0),
        ),
        event("tongxin.orders.order_rated", Uuid::now_v7(), rated.clone()),
        event("tongxin.orders.order_rated", Uuid::now_v7(), rated),
    ];
    for result in bus.publish_batch(&batch).await {
        result.expect("published");
    }
    // Two distinct activity events, five order events: wait until all were handled.
    let done = tongxin_testing::wait_until(Duration::from_secs(20), || async {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM processed_events WHERE consumer LIKE 'volunteers-credit-%'",
        )
        .await
            >= 7
    })
    .await;
    assert!(done, "events were not consumed");

    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM hours_entries").await,
        2
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM parked_events").await,
        0
    );
    let staff = app.staff(units::CHANGYUAN);
    let t = app.graphql(Some(&staff), TOTALS, json!({ "id": v })).await;
    assert_eq!(
        t["data"]["volunteer"],
        json!({ "hours": { "approved": 12.0, "pending": 0.0 }, "starLevel": 1 }),
        "{t}"
    );
    const LIST: &str = r#"query($v: ID) { hoursEntries(volunteerId: $v) { edges { node { source sourceId status hours serviceDate } } } }"#;
    let list = app.graphql(Some(&staff), LIST, json!({ "v": v })).await;
    // Both consumers run concurrently, so compare by service date.
    let mut credited: Vec<Value> = list["data"]["hoursEntries"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    credited.sort_by_key(|n| n["serviceDate"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        credited,
        vec![
            json!({ "source": "ACTIVITY", "sourceId": activity.to_string(), "status": "APPROVED", "hours": 6.0, "serviceDate": "2026-11-01" }),
            json!({ "source": "ORDER", "sourceId": order.to_string(), "status": "APPROVED", "hours": 6.0, "serviceDate": "2026-11-02" }),
        ]
    );
    // 12 h × 10 + one rating of 4 stars × 2 (once, although rated twice).
    let p = app
        .graphql(
            Some(&staff),
            r#"query($v: ID!) { pointsBalance(volunteerId: $v) }"#,
            json!({ "v": v }),
        )
        .await;
    assert_eq!(p["data"]["pointsBalance"], 128.0, "{p}");

    // Exactly one star_reached, for level 1. Every event is handled, so every star event
    // there will be is in the outbox: one row, and once the relay has published it, a
    // marker sent after it must be the next message on the subject (NATS keeps the order
    // in which it took them), so no second star_reached came out either.
    let message = tokio::time::timeout(Duration::from_secs(10), stars.next())
        .await
        .expect("star event in time")
        .expect("message");
    let star = pb_events::StarReached::decode(message.payload.clone()).expect("protobuf");
    assert_eq!(
        (star.volunteer_id.as_str(), star.level, star.approved_hours),
        (v.as_str(), 1, 12.0)
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM outbox_events WHERE subject = 'tongxin.volunteers.star_reached'"
        )
        .await,
        1
    );
    let relayed = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM outbox_events WHERE published_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    assert!(relayed, "the outbox was not relayed");
    nats.publish("tongxin.volunteers.star_reached", "marker".into())
        .await
        .expect("marker");
    let next = tokio::time::timeout(Duration::from_secs(10), stars.next())
        .await
        .expect("the marker in time")
        .expect("message");
    assert_eq!(
        next.payload.as_ref(),
        b"marker",
        "a second star_reached was published"
    );
    app.stop().await;
}

/// (volunteer, source, source id, quarter hours, status, service date) of every ledger row,
/// by volunteer.
async fn ledger_rows(app: &TestApp) -> Vec<(String, String, String, i16, String, String)> {
    use sea_orm::{ActiveEnum, EntityTrait, QueryOrder};
    use tongxin_volunteers::store::ledger::entries;
    let mut rows: Vec<_> = entries::Entity::find()
        .order_by_asc(entries::Column::Id)
        .all(&app.db)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| {
            (
                e.volunteer_id.to_string(),
                // The stored names.
                e.source.to_value(),
                e.source_id.map(|s| s.to_string()).unwrap_or_default(),
                e.quarters,
                e.status.to_value(),
                e.service_date.to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_team_completion_credits_each_member_once_however_often_it_arrives() {
    let app = TestApp::spawn().await;
    // The test's own publisher connects first: connecting applies the configured stream
    // settings, which would put the window back.
    let bus = crate::vsupport::bus(&app).await;
    // Before anything is published, so the repeat below reaches the consumer.
    crate::vsupport::shrink_duplicate_window(&app).await;
    let staff = app.staff(units::CHANGYUAN);
    let a = register(&app, None, 201, units::HONGQIAO).await;
    let b = register(&app, None, 202, units::HONGQIAO).await;
    let outsider = register(&app, None, 203, units::HONGQIAO).await;
    let team = app
        .graphql(
            Some(&staff),
            r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"#,
            json!({ "input": { "name": "虹桥小队", "level": "SQUAD", "unitId": units::id(units::HONGQIAO).to_string() } }),
        )
        .await;
    let team = team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{team}"))
        .to_owned();
    for member in [&a, &b] {
        let r = app
            .graphql(
                Some(&staff),
                r#"mutation($t: ID!, $v: ID!) { addTeamMember(teamId: $t, volunteerId: $v) { id } }"#,
                json!({ "t": team, "v": member }),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }

    // orders completes a team dispatch: hours for two members, and for someone who is not
    // in the team (orders does not know the members; the team's members are the rule).
    let order = Uuid::now_v7();
    let completed = pb_events::OrderChanged {
        order_id: order.to_string(),
        order_no: "RC-0002".to_owned(),
        state: pb_events::OrderState::Completed as i32,
        category_code: "repair".to_owned(),
        holding_unit_path: units::HONGQIAO.to_owned(),
        district: "rc".to_owned(),
        team_id: Some(team.clone()),
        hours: [(&a, 2.5), (&b, 1.5), (&outsider, 3.0)]
            .into_iter()
            .map(|(v, hours)| pb_events::VolunteerHours {
                volunteer_id: v.clone(),
                hours,
            })
            .collect(),
        actor: "staff-/rc/changyuan".to_owned(),
        occurred_at_ms: ms(2026, 11, 2, 2),
        ..Default::default()
    }
    .encode_to_vec();
    let nats = app.nats.client().await;
    let mut seen = nats
        .subscribe("tongxin.orders.order_completed")
        .await
        .expect("sub");
    // Active at the server before the publisher (another connection) sends.
    tongxin_platform::events::nats::barrier(&nats)
        .await
        .expect("barrier");
    let first = event(
        "tongxin.orders.order_completed",
        Uuid::now_v7(),
        completed.clone(),
    );
    for result in bus.publish_batch(std::slice::from_ref(&first)).await {
        result.expect("published");
    }
    let consumer = tongxin_volunteers::events::consumers::ledger::ORDERS_CONSUMER;
    assert_eq!(
        crate::vsupport::wait_settled(&app, consumer, &[first.id]).await,
        (1, 0)
    );
    let credited = vec![
        (
            a.clone(),
            "order".to_owned(),
            order.to_string(),
            10,
            "approved".to_owned(),
            "2026-11-02".to_owned(),
        ),
        (
            b.clone(),
            "order".to_owned(),
            order.to_string(),
            6,
            "approved".to_owned(),
            "2026-11-02".to_owned(),
        ),
    ];
    let mut expected = credited.clone();
    expected.sort();
    assert_eq!(
        ledger_rows(&app).await,
        expected,
        "each member once, nobody else"
    );
    const TEAM_HOURS: &str = r#"query($t: ID!) { team(id: $t) { hours { approved pending } } }"#;
    let hours = app
        .graphql(Some(&staff), TEAM_HOURS, json!({ "t": team }))
        .await;
    assert_eq!(
        hours["data"]["team"]["hours"],
        json!({ "approved": 4.0, "pending": 0.0 }),
        "{hours}"
    );

    // The same message again (JetStream redelivers it when an ack is lost): same headers,
    // same event id. Wait until JetStream stores it rather than dropping it as a duplicate,
    // then until the consumer has acknowledged it.
    let original = tokio::time::timeout(Duration::from_secs(10), seen.next())
        .await
        .expect("the completion on NATS")
        .expect("message");
    let headers = original.headers.clone().expect("headers");
    let mut stored_at = None;
    for _ in 0..100 {
        let ack = nats
            .request_with_headers(
                original.subject.clone(),
                headers.clone(),
                original.payload.clone(),
            )
            .await
            .expect("publish");
        let ack: Value = serde_json::from_slice(&ack.payload).expect("pub ack");
        assert!(ack["error"].is_null(), "{ack}");
        if ack["duplicate"] != json!(true) {
            stored_at = ack["seq"].as_u64();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored_at = stored_at.expect("the repeat was stored within 5 s");
    let acked = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        crate::vsupport::ack_floor(&app, consumer).await >= stored_at
    })
    .await;
    assert!(acked, "the consumer did not acknowledge the redelivery");
    // And the same completion announced once more under a new event id.
    let again = event("tongxin.orders.order_completed", Uuid::now_v7(), completed);
    for result in bus.publish_batch(std::slice::from_ref(&again)).await {
        result.expect("published");
    }
    assert_eq!(
        crate::vsupport::wait_settled(&app, consumer, &[again.id]).await,
        (1, 0)
    );
    assert_eq!(ledger_rows(&app).await, expected, "nothing credited twice");
    let hours = app
        .graphql(Some(&staff), TEAM_HOURS, json!({ "t": team }))
        .await;
    assert_eq!(
        hours["data"]["team"]["hours"],
        json!({ "approved": 4.0, "pending": 0.0 }),
        "{hours}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM parked_events").await,
        0
    );
    app.stop().await;
}
