//! Orders of a legal category: dispatched to a legal-aid station (checked with the legal-aid
//! service over gRPC), then moved on by the station's visit as its events tell: booked →
//! accepted, checked in → in progress, outcome logged → completed. A redelivered event
//! changes nothing; an event of another station moves nothing.

use std::time::Duration;

use prost::Message;
use serde_json::{Value, json};
use tongxin_legal_aid::domain::LegalService;
use tongxin_legal_aid::service::{Caller as LegalAidCaller, NewStation};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::events::Event;
use tongxin_proto::events as pb;
use tongxin_proto::legalaid as la;
use uuid::Uuid;

use super::{RECEIVE, TestApp, error_code, paths};
use tongxin_venues::demo;

const DISPATCH_TO: &str = "mutation($id: ID!, $station: ID!) { dispatchOrder(orderId: $id, legalAidStationId: $station) { id state legalAidStationId version } }";

const DISPATCH_VOLUNTEERS: &str = "mutation($id: ID!, $volunteers: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $volunteers) { id state } }";

const DISPATCH_BOTH: &str = "mutation($id: ID!, $station: ID!, $volunteers: [ID!]!) { dispatchOrder(orderId: $id, legalAidStationId: $station, volunteerIds: $volunteers) { id state } }";

const ORDER: &str = "query($id: ID!) { order(id: $id) { state version legalAidStationId } }";

const TIMELINE: &str = "query($id: ID!) { orderTimeline(orderId: $id) { edges { node { event role note toState } } } }";

/// A station at 虹桥社区 offering `services`; its id.
async fn station(app: &TestApp, services: &[LegalService]) -> Uuid {
    let admin = LegalAidCaller {
        principal: Principal {
            subject: "district-admin".to_owned(),
            roles: vec![Role::Admin],
            unit: Some(demo::unit_id(paths::CENTER).0),
            district: Some("rc".to_owned()),
            credential: None,
        },
        scope: Some(tongxin_platform::org::UnitPath::parse(paths::CENTER).expect("path")),
        provider: None,
    };
    app.legal_aid()
        .create_station(
            &admin,
            NewStation {
                unit: demo::unit_id(paths::HONGQIAO).0,
                venue: None,
                name: "虹桥社区公共法律服务点".to_owned(),
                address: "虹桥社区便民服务中心".to_owned(),
                opening_hours: "工作日 9:00-12:00".to_owned(),
                contact: "023-4660000".to_owned(),
                services: services.to_vec(),
                min_notice_minutes: 60,
                horizon_days: 30,
            },
        )
        .await
        .expect("station")
        .id
        .0
}

fn data<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

/// A legal-aid event as the legal-aid service publishes it.
fn event(subject: &str, payload: Vec<u8>) -> Event {
    Event {
        id: Uuid::now_v7(),
        subject: subject.to_owned(),
        ce_type: subject.to_owned(),
        source: "tongxin/legal-aid".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: payload.into(),
    }
}

fn appointment(kind: &str, order: &str, station: Uuid, starts_at_ms: i64) -> Event {
    let status = match kind {
        "appointment_checked_in" => la::AppointmentStatus::CheckedIn,
        "appointment_cancelled" => la::AppointmentStatus::Cancelled,
        _ => la::AppointmentStatus::Booked,
    };
    event(
        &format!("tongxin.legalaid.{kind}"),
        pb::AppointmentChanged {
            appointment_id: Uuid::now_v7().to_string(),
            station_id: station.to_string(),
            service: la::LegalService::Consultation as i32,
            starts_at_ms,
            ends_at_ms: starts_at_ms + 30 * 60_000,
            status: status as i32,
            order_id: Some(order.to_owned()),
            actor: "alice".to_owned(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn logged(order: &str, station: Uuid, outcome: &str) -> Event {
    event(
        "tongxin.legalaid.consultation_logged",
        pb::ConsultationLogged {
            consultation_id: Uuid::now_v7().to_string(),
            appointment_id: Uuid::now_v7().to_string(),
            station_id: station.to_string(),
            service: la::LegalService::Consultation as i32,
            outcome: outcome.to_owned(),
            order_id: Some(order.to_owned()),
            actor: "lawyer-1".to_owned(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

async fn publish(app: &TestApp, events: &[Event]) {
    for r in app.bus.publish_batch(events).await {
        r.expect("published");
    }
}

/// Waits until the order stands in `state`; its (state, version).
async fn reaches(app: &TestApp, staff: &str, id: &str, state: &str) -> (String, i64) {
    let mut last = Value::Null;
    for _ in 0..75 {
        last = app.graphql(Some(staff), ORDER, json!({ "id": id })).await;
        if last["data"]["order"]["state"] == state {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        last["data"]["order"]["state"], state,
        "order reaches {state}: {last}"
    );
    (
        last["data"]["order"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        last["data"]["order"]["version"]
            .as_i64()
            .unwrap_or_default(),
    )
}

async fn timeline(app: &TestApp, staff: &str, id: &str) -> Vec<Value> {
    let r = app
        .graphql(Some(staff), TIMELINE, json!({ "id": id }))
        .await;
    data(&r, "orderTimeline")["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_legal_order_is_dispatched_to_a_station_offering_its_service_only() {
    let app = TestApp::spawn_with_legal_aid().await;
    let consult = station(&app, &[LegalService::Consultation]).await;
    let staff = app.staff(paths::HONGQIAO);
    let legal = app.place_ok("alice", "legal_consult", "legal-1").await;
    let r = app.act(&staff, RECEIVE, &legal, json!({})).await;
    assert_eq!(data(&r, "receiveOrder")["state"], "RECEIVED", "{r}");

    // Not to volunteers, not to a station that does not exist.
    let v = app.new_volunteer().await;
    let r = app
        .act(
            &staff,
            DISPATCH_VOLUNTEERS,
            &legal,
            json!({ "volunteers": [v.to_string()] }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .act(
            &staff,
            DISPATCH_TO,
            &legal,
            json!({ "station": Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist"),
        "{r}"
    );
    // A station and volunteers at once is one too many.
    let r = app
        .act(
            &staff,
            DISPATCH_BOTH,
            &legal,
            json!({ "station": consult.to_string(), "volunteers": [v.to_string()] }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");

    // A mediation order at a station that only answers questions.
    let form = json!([{ "key": "employer", "value": "某电子厂" }]);
    let r = app
        .place(
            "bob",
            "labour_mediation",
            form,
            super::CAIJIABA_POINT,
            "legal-2",
        )
        .await;
    let mediation = data(&r, "placeOrder")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.act(&staff, RECEIVE, &mediation, json!({})).await;
    let r = app
        .act(
            &staff,
            DISPATCH_TO,
            &mediation,
            json!({ "station": consult.to_string() }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("does not offer"),
        "{r}"
    );

    // A volunteer order never goes to a station.
    let visit = app.place_ok("carol", "elder_visit", "legal-3").await;
    let courtyard = app.staff(paths::CAIJIABA);
    app.act(&courtyard, RECEIVE, &visit, json!({})).await;
    let r = app
        .act(
            &courtyard,
            DISPATCH_TO,
            &visit,
            json!({ "station": consult.to_string() }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");

    // Every refusal left the orders where they were.
    for id in [&legal, &mediation, &visit] {
        let r = app.graphql(Some(&staff), ORDER, json!({ "id": id })).await;
        assert_eq!(r["data"]["order"]["state"], "RECEIVED", "{r}");
    }

    let r = app
        .act(
            &staff,
            DISPATCH_TO,
            &legal,
            json!({ "station": consult.to_string() }),
        )
        .await;
    let order = data(&r, "dispatchOrder");
    assert_eq!(order["state"], "DISPATCHED");
    assert_eq!(order["legalAidStationId"], consult.to_string());
    app.stop().await;
}

#[tokio::test]
async fn the_station_visit_moves_the_order_to_completed_once() {
    let app = TestApp::spawn_with_legal_aid().await;
    let consult = station(&app, &[LegalService::Consultation, LegalService::Mediation]).await;
    let other = Uuid::now_v7();
    let staff = app.staff(paths::HONGQIAO);
    let id = app.place_ok("alice", "legal_consult", "visit-1").await;
    app.act(&staff, RECEIVE, &id, json!({})).await;
    let r = app
        .act(
            &staff,
            DISPATCH_TO,
            &id,
            json!({ "station": consult.to_string() }),
        )
        .await;
    assert_eq!(data(&r, "dispatchOrder")["state"], "DISPATCHED", "{r}");

    // Wednesday 2026-12-09 09:00 in the district (01:00 UTC).
    let nine = 1_796_778_000_000;
    // Another station's booking for this order first: it moves nothing. Then the real one,
    // twice (a second delivery of the same visit).
    publish(
        &app,
        &[
            appointment("appointment_booked", &id, other, nine),
            appointment("appointment_booked", &id, consult, nine),
            appointment("appointment_booked", &id, consult, nine),
        ],
    )
    .await;
    let (_, accepted_version) = reaches(&app, &staff, &id, "ACCEPTED").await;
    let accepted: Vec<Value> = timeline(&app, &staff, &id)
        .await
        .into_iter()
        .filter(|t| t["event"] == "accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted[0]["role"], "legal_aid");
    let note = accepted[0]["note"].as_str().unwrap_or_default();
    assert!(
        note.contains(&consult.to_string()) && note.contains("2026-12-09 09:00"),
        "the station and the time: {note}"
    );

    // A rescheduled slot is a note on the timeline; the order stays accepted.
    publish(
        &app,
        &[
            appointment("appointment_rescheduled", &id, consult, nine + 3_600_000),
            appointment("appointment_checked_in", &id, consult, nine + 3_600_000),
        ],
    )
    .await;
    reaches(&app, &staff, &id, "IN_PROGRESS").await;
    let events: Vec<String> = app.timeline_events(&id).await;
    assert!(
        events.iter().any(|e| e == "appointment_rescheduled"),
        "{events:?}"
    );

    publish(&app, &[logged(&id, consult, "answered")]).await;
    let (_, done_version) = reaches(&app, &staff, &id, "COMPLETED").await;
    assert_eq!(done_version, accepted_version + 2, "one version per move");
    let completed: Vec<Value> = timeline(&app, &staff, &id)
        .await
        .into_iter()
        .filter(|t| t["event"] == "completed")
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["note"], "consultation outcome: answered");

    // The outcome delivered again (another event id: the processed-events table does not
    // catch it) changes nothing; a marker published after it tells when it was handled.
    let before = app.timeline_events(&id).await.len();
    let marker = app.place_ok("dora", "legal_consult", "visit-2").await;
    app.act(&staff, RECEIVE, &marker, json!({})).await;
    app.act(
        &staff,
        DISPATCH_TO,
        &marker,
        json!({ "station": consult.to_string() }),
    )
    .await;
    publish(
        &app,
        &[
            logged(&id, consult, "referred"),
            appointment("appointment_booked", &marker, consult, nine),
        ],
    )
    .await;
    reaches(&app, &staff, &marker, "ACCEPTED").await;
    let r = app.graphql(Some(&staff), ORDER, json!({ "id": id })).await;
    assert_eq!(r["data"]["order"]["version"], done_version, "{r}");
    assert_eq!(app.timeline_events(&id).await.len(), before);

    // Nobody but the station completes such an order: not staff in scope.
    let r = app
        .act(
            &staff,
            "mutation($id: ID!) { startOrder(orderId: $id) { state } }",
            &marker,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    app.stop().await;
}
