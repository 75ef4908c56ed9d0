//! Orders of a legal category: dispatched to a legal-aid station (checked with the legal-aid
//! service over gRPC), then moved on by the station's visit as its events tell: booked →
//! accepted, checked in → in progress, outcome logged → completed. A redelivered event
//! changes nothing; an event of another station moves nothing. A cancelled appointment
//! sends the order back to dispatched; a booked order may still be withdrawn, which frees
//! its slot.

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

/// A legal-aid station at 虹桥社区 with one lawyer on Wednesday mornings (30-minute slots),
/// as its staff set it up through the legal-aid subgraph.
pub(crate) struct Desk {
    pub station: String,
    /// Staff of 虹桥社区 (they hold the orders and run the station).
    pub staff: String,
}

pub(crate) async fn open_desk(app: &TestApp) -> Desk {
    let station = station(app, &[LegalService::Consultation])
        .await
        .to_string();
    let staff = app.staff(paths::HONGQIAO);
    let r = app
        .legal_aid_graphql(
            Some(&staff),
            "mutation($i: AddLegalAidProviderInput!) { addLegalAidProvider(input: $i) { id } }",
            json!({ "i": {
                "name": "李律师", "kind": "LAWYER", "services": ["CONSULTATION"],
                "stationIds": [station], "accountSubject": "lawyer-1",
                "licenceNo": "15001200000001",
            }}),
        )
        .await;
    let provider = data(&r, "addLegalAidProvider")["id"]
        .as_str()
        .expect("provider")
        .to_owned();
    let r = app
        .legal_aid_graphql(
            Some(&staff),
            "mutation($s: ID!, $r: RosterRuleInput!) { addRosterRule(stationId: $s, input: $r) { id } }",
            json!({ "s": station, "r": {
                "weekday": "WEDNESDAY", "start": "09:00", "end": "12:00",
                "service": "CONSULTATION", "providerIds": [provider], "slotMinutes": 30,
            }}),
        )
        .await;
    data(&r, "addRosterRule");
    Desk { station, staff }
}

const REQUESTS: &str = "query($s: ID!) { consultationRequests(stationId: $s) { edges { node { order { id } status appointmentId } } } }";

/// The station's request for `order` once its status is `status`.
pub(crate) async fn request_is(app: &TestApp, desk: &Desk, order: &str, status: &str) {
    let mut last = Value::Null;
    for _ in 0..75 {
        last = app
            .legal_aid_graphql(Some(&desk.staff), REQUESTS, json!({ "s": desk.station }))
            .await;
        let found = last["data"]["consultationRequests"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["node"]["order"]["id"] == order && e["node"]["status"] == status);
        if found {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the request of {order} is not {status}: {last}");
}

/// A 法律咨询 of `citizen`, received by 虹桥社区 and dispatched to the desk's station, its
/// request open there; the order id.
pub(crate) async fn at_the_station(app: &TestApp, desk: &Desk, citizen: &str, key: &str) -> String {
    let id = app.place_ok(citizen, "legal_consult", key).await;
    let r = app.act(&desk.staff, RECEIVE, &id, json!({})).await;
    assert_eq!(data(&r, "receiveOrder")["state"], "RECEIVED", "{r}");
    let r = app
        .act(
            &desk.staff,
            DISPATCH_TO,
            &id,
            json!({ "station": desk.station }),
        )
        .await;
    assert_eq!(data(&r, "dispatchOrder")["state"], "DISPATCHED", "{r}");
    request_is(app, desk, &id, "REQUESTED").await;
    id
}

/// Books `starts_at` at the desk as `token`, for `order` when given; the raw response.
pub(crate) async fn book(
    app: &TestApp,
    token: &str,
    desk: &Desk,
    starts_at: &str,
    order: Option<&str>,
    key: &str,
) -> Value {
    app.legal_aid_graphql(
        Some(token),
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id status } }",
        json!({ "i": {
            "stationId": desk.station, "service": "CONSULTATION", "startsAt": starts_at,
            "topic": "邻里纠纷", "orderId": order, "idempotencyKey": key,
        }}),
    )
    .await
}

pub(crate) fn booked_id(r: &Value) -> String {
    data(r, "bookAppointment")["id"]
        .as_str()
        .expect("appointment id")
        .to_owned()
}

/// Legal aid's clock for the flows below: Monday 2026-12-07, 08:00 in the district.
pub(crate) const MONDAY_MORNING: &str = "2026-12-07T00:00:00Z";
/// Wednesday 2026-12-09, 09:00 and 10:00 in the district.
pub(crate) const WED_9: &str = "2026-12-09T01:00:00Z";
pub(crate) const WED_10: &str = "2026-12-09T02:00:00Z";

pub(crate) fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&chrono::Utc)
}

/// The whole visit of a legal order through the front doors, with a slot given up on the
/// way: dispatched to the station → the request opens there → the citizen books → accepted
/// → she cancels the appointment → the order is dispatched again (a real move, once, even
/// when the cancellation arrives again) → she books another slot → accepted → checked in
/// (now she cannot withdraw it) → the outcome is logged → completed.
pub(crate) async fn a_slot_given_up_then_the_whole_visit(app: &TestApp) {
    let desk = open_desk(app).await;
    let alice = app.citizen("alice");
    let id = at_the_station(app, &desk, "alice", "visit-flow").await;

    let first = booked_id(&book(app, &alice, &desk, WED_9, Some(&id), "b1").await);
    reaches(app, &desk.staff, &id, "ACCEPTED").await;
    request_is(app, &desk, &id, "BOOKED").await;

    let r = app
        .legal_aid_graphql(
            Some(&alice),
            "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(data(&r, "cancelAppointment")["status"], "CANCELLED", "{r}");
    let (_, given_up) = reaches(app, &desk.staff, &id, "DISPATCHED").await;
    request_is(app, &desk, &id, "REQUESTED").await;
    let rows = timeline(app, &desk.staff, &id).await;
    let back: Vec<&Value> = rows
        .iter()
        .filter(|t| t["event"] == "dispatched" && t["role"] == "legal_aid")
        .collect();
    assert_eq!(back.len(), 1, "{rows:?}");
    assert_eq!(back[0]["toState"], "DISPATCHED");
    let note = back[0]["note"].as_str().unwrap_or_default();
    assert!(
        note.contains(&desk.station) && note.contains("slot was given up"),
        "{note}"
    );

    // The cancellation again: as delivered before (its own event id) and under a new id;
    // a rescheduling note after them tells when both were handled.
    let sent = legal_aid_events(app, "tongxin.legalaid.appointment_cancelled").await;
    assert_eq!(sent.len(), 1);
    let mut renewed = sent[0].clone();
    renewed.id = uuid::Uuid::now_v7();
    publish(
        app,
        &[
            sent[0].clone(),
            renewed,
            appointment(
                "appointment_rescheduled",
                &id,
                desk.station.parse().expect("station"),
                1_796_778_000_000,
            ),
        ],
    )
    .await;
    for _ in 0..75 {
        if app
            .timeline_events(&id)
            .await
            .iter()
            .any(|e| e == "appointment_rescheduled")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = app
        .graphql(Some(&desk.staff), ORDER, json!({ "id": id }))
        .await;
    assert_eq!(
        (&r["data"]["order"]["state"], &r["data"]["order"]["version"]),
        (&json!("DISPATCHED"), &json!(given_up)),
        "moved once: {r}"
    );

    // She books again; the visit runs its course.
    let second = booked_id(&book(app, &alice, &desk, WED_10, Some(&id), "b2").await);
    reaches(app, &desk.staff, &id, "ACCEPTED").await;
    app.legal_aid_clock().set(at("2026-12-09T01:50:00Z"));
    let r = app
        .legal_aid_graphql(
            Some(&desk.staff),
            "mutation($id: ID!) { checkIn(id: $id) { status } }",
            json!({ "id": second }),
        )
        .await;
    assert_eq!(data(&r, "checkIn")["status"], "CHECKED_IN", "{r}");
    reaches(app, &desk.staff, &id, "IN_PROGRESS").await;
    // Checked in: too late to withdraw.
    let r = app.act(&alice, super::CANCEL, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .legal_aid_graphql(
            Some(&desk.staff),
            "mutation($id: ID!) { logConsultationOutcome(appointmentId: $id, outcome: ANSWERED) }",
            json!({ "id": second }),
        )
        .await;
    data(&r, "logConsultationOutcome");
    reaches(app, &desk.staff, &id, "COMPLETED").await;
    let moves: Vec<String> = app
        .timeline_events(&id)
        .await
        .into_iter()
        .filter(|e| !e.starts_with("appointment_"))
        .collect();
    assert_eq!(
        moves,
        [
            "placed",
            "received",
            "dispatched",
            "accepted",
            "dispatched",
            "accepted",
            "started",
            "completed"
        ]
    );
    request_is_gone(app, &desk, &id).await;
}

/// Legal aid's published events with `subject`, as it wrote them to its outbox.
async fn legal_aid_events(app: &TestApp, subject: &str) -> Vec<Event> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    use tongxin_platform::events::outbox::entity;
    entity::Entity::find()
        .filter(entity::Column::Subject.eq(subject))
        .order_by_asc(entity::Column::Seq)
        .all(app.legal_aid().db())
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| Event {
            id: row.event_id,
            subject: row.subject.clone(),
            ce_type: row.subject,
            source: row.source,
            time: row.created_at,
            traceparent: None,
            payload: row.payload.into(),
        })
        .collect()
}

/// The station lists no open request for `order` (done or cancelled).
async fn request_is_gone(app: &TestApp, desk: &Desk, order: &str) {
    let mut last = Value::Null;
    for _ in 0..75 {
        last = app
            .legal_aid_graphql(Some(&desk.staff), REQUESTS, json!({ "s": desk.station }))
            .await;
        let open = last["data"]["consultationRequests"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["node"]["order"]["id"] == order);
        if last["errors"].is_null() && !open {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the request of {order} is still open: {last}");
}

#[tokio::test]
async fn a_cancelled_appointment_sends_the_order_back_to_dispatched_and_a_new_booking_completes_it()
{
    let app = TestApp::spawn_with_legal_aid_at(super::Store::Postgres, at(MONDAY_MORNING)).await;
    a_slot_given_up_then_the_whole_visit(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_citizen_withdraws_a_booked_order_and_the_slot_is_free_for_someone_else() {
    let app = TestApp::spawn_with_legal_aid_at(super::Store::Postgres, at(MONDAY_MORNING)).await;
    let desk = open_desk(&app).await;
    let alice = app.citizen("alice");
    let id = at_the_station(&app, &desk, "alice", "withdraw-1").await;
    let slot = booked_id(&book(&app, &alice, &desk, WED_9, Some(&id), "w1").await);
    reaches(&app, &desk.staff, &id, "ACCEPTED").await;
    // The only lawyer is taken at 09:00.
    let bob = app.citizen("bob");
    let r = book(&app, &bob, &desk, WED_9, None, "bob-1").await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    // Booked is not yet visited: alice may still withdraw the order.
    let r = app.act(&alice, super::CANCEL, &id, json!({})).await;
    assert_eq!(data(&r, "cancelOrder")["state"], "CANCELLED", "{r}");
    // The station cancels her appointment; the slot is free again and bob books it.
    let mut last = Value::Null;
    for _ in 0..75 {
        last = app
            .legal_aid_graphql(
                Some(&desk.staff),
                "query($id: ID!) { appointment(id: $id) { status } }",
                json!({ "id": slot }),
            )
            .await;
        if last["data"]["appointment"]["status"] == "CANCELLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(last["data"]["appointment"]["status"], "CANCELLED", "{last}");
    request_is_gone(&app, &desk, &id).await;
    let r = book(&app, &bob, &desk, WED_9, None, "bob-2").await;
    assert_eq!(data(&r, "bookAppointment")["status"], "BOOKED", "{r}");
    let sent = legal_aid_events(&app, "tongxin.legalaid.appointment_cancelled").await;
    assert_eq!(sent.len(), 1);
    let body = pb::AppointmentChanged::decode(sent[0].payload.clone()).expect("body");
    assert_eq!(
        (body.appointment_id.as_str(), body.actor.as_str()),
        (slot.as_str(), "alice")
    );

    // The order stays cancelled; its timeline tells why the appointment went.
    let mut note = None;
    for _ in 0..75 {
        note = timeline(&app, &desk.staff, &id)
            .await
            .into_iter()
            .find(|t| t["event"] == "appointment_cancelled");
        if note.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let note = note.expect("the appointment's cancellation on the order's timeline");
    assert_eq!(note["toState"], "CANCELLED");
    assert!(
        note["note"]
            .as_str()
            .unwrap_or_default()
            .contains("the order was withdrawn"),
        "{note}"
    );
    let r = app
        .graphql(Some(&desk.staff), ORDER, json!({ "id": id }))
        .await;
    assert_eq!(r["data"]["order"]["state"], "CANCELLED", "{r}");

    // A volunteer's accepted order is not withdrawn: that rule stands.
    let v = app.new_volunteer().await;
    let visit = app.place_ok("carol", "elder_visit", "withdraw-2").await;
    let courtyard = app.staff(paths::CAIJIABA);
    app.act(&courtyard, RECEIVE, &visit, json!({})).await;
    app.act(
        &courtyard,
        DISPATCH_VOLUNTEERS,
        &visit,
        json!({ "volunteers": [v.to_string()] }),
    )
    .await;
    let r = app
        .act(&app.volunteer(v), super::ACCEPT, &visit, json!({}))
        .await;
    assert_eq!(data(&r, "acceptOrder")["state"], "ACCEPTED", "{r}");
    let r = app
        .act(&app.citizen("carol"), super::CANCEL, &visit, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    app.stop().await;
}
