//! Orders at a station: an order of a legal category dispatched to a station (the orders
//! event) becomes a consultation request there; only the order's citizen books a slot for
//! it, once; cancelling the appointment reopens it; the logged outcome publishes
//! `consultation_logged` naming the order. A redelivered event opens nothing twice.

use std::time::Duration;

use prost::Message;
use serde_json::{Value, json};
use tongxin_platform::config::EventsSettings;
use tongxin_platform::events::Event;
use tongxin_proto::events as pb;
use uuid::Uuid;

use super::{TestApp, at, error_code};

const WED_9: &str = "2026-09-30T01:00:00Z";
const WED_930: &str = "2026-09-30T01:30:00Z";
const WED_10: &str = "2026-09-30T02:00:00Z";

const REQUESTS: &str = "query($s: ID!) { consultationRequests(stationId: $s) { edges { node { order { id } orderNo service categoryCode status appointmentId } } } }";

/// An orders event as the orders service publishes it.
fn order_event(kind: &str, order: Uuid, station: Option<&str>, citizen: &str) -> Event {
    let body = pb::OrderChanged {
        order_id: order.to_string(),
        order_no: "RC-LEGAL-1".to_owned(),
        category_code: "legal_consult".to_owned(),
        legal_aid_station_id: station.map(str::to_owned),
        citizen: station.map(|_| citizen.to_owned()),
        legal_service: station.map(|_| "consultation".to_owned()),
        actor: "staff-hongqiao".to_owned(),
        ..Default::default()
    };
    let subject = format!("tongxin.orders.{kind}");
    Event {
        id: Uuid::now_v7(),
        subject: subject.clone(),
        ce_type: subject,
        source: "tongxin/orders".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: body.encode_to_vec().into(),
    }
}

async fn publish(app: &TestApp, events: &[Event]) {
    let bus = tongxin_platform::events::connect(&EventsSettings {
        nats_url: app.spawned.nats().url(),
        ..EventsSettings::default()
    })
    .await
    .expect("bus");
    for r in bus.publish_batch(events).await {
        r.expect("published");
    }
}

/// The station's open requests once `check` holds for them.
async fn requests_when(
    app: &TestApp,
    station: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let staff = app.staff();
    let mut last = Vec::new();
    for _ in 0..75 {
        let r = app
            .gql(Some(&staff), REQUESTS, json!({ "s": station }))
            .await;
        last = r["data"]["consultationRequests"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e["node"].clone())
            .collect();
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("requests: {last:?}");
}

fn book(station: &str, start: &str, order: Uuid, key: &str) -> Value {
    json!({ "stationId": station, "service": "CONSULTATION", "startsAt": start,
            "topic": "劳动合同纠纷", "parties": ["张三"], "orderId": order.to_string(),
            "idempotencyKey": key })
}

#[tokio::test]
async fn an_order_at_the_station_is_booked_once_by_its_citizen_and_its_outcome_is_published() {
    let app = TestApp::spawn().await;
    let (station, _notary, lawyer1, _lawyer2) = app.park_station().await;
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1],
    )
    .await;
    let order = Uuid::now_v7();
    let withdrawn = Uuid::now_v7();
    // The dispatch arrives twice (a redelivery under another event id), and a second order.
    publish(
        &app,
        &[
            order_event("order_dispatched", order, Some(&station), "alice"),
            order_event("order_dispatched", order, Some(&station), "alice"),
            order_event("order_dispatched", withdrawn, Some(&station), "bob"),
            // Orders that are not at a station are none of legal aid's business.
            order_event("order_dispatched", Uuid::now_v7(), None, "carol"),
        ],
    )
    .await;
    let open = requests_when(&app, &station, |r| r.len() == 2).await;
    let mine = open
        .iter()
        .find(|r| r["order"]["id"] == order.to_string())
        .expect("alice's request");
    assert_eq!(mine["status"], "REQUESTED");
    assert_eq!(mine["service"], "CONSULTATION");
    assert_eq!(mine["categoryCode"], "legal_consult");

    // Bob withdraws his order: its request closes.
    publish(
        &app,
        &[order_event("order_cancelled", withdrawn, None, "bob")],
    )
    .await;
    requests_when(&app, &station, |r| r.len() == 1).await;

    // Someone else books for alice's order: there is no such request for them.
    let r = app
        .book(&app.citizen("mallory"), book(&station, WED_9, order, "m1"))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    // Alice with another service than the order asks for.
    let mut wrong = book(&station, WED_9, order, "a0");
    wrong["service"] = json!("MEDIATION");
    let r = app.book(&app.citizen("alice"), wrong).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(app.appointment_count().await, 0, "nothing stored");

    // Alice books; the request is booked, the appointment names the order.
    let alice = app.citizen("alice");
    let r = app.book(&alice, book(&station, WED_9, order, "a1")).await;
    let first = r["data"]["bookAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("booked: {r}"))
        .to_owned();
    let open = requests_when(&app, &station, |_| true).await;
    assert_eq!(open[0]["status"], "BOOKED");
    assert_eq!(open[0]["appointmentId"], first.as_str());
    // The same key again is the same appointment; another booking for the order is CONFLICT.
    let r = app.book(&alice, book(&station, WED_9, order, "a1")).await;
    assert_eq!(r["data"]["bookAppointment"]["id"], first.as_str(), "{r}");
    let r = app.book(&alice, book(&station, WED_930, order, "a2")).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    assert_eq!(app.appointment_count().await, 1);

    // Cancelling the appointment reopens the request; alice books again.
    let r = app
        .gql(
            Some(&alice),
            "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(r["data"]["cancelAppointment"]["status"], "CANCELLED", "{r}");
    let open = requests_when(&app, &station, |_| true).await;
    assert_eq!(open[0]["status"], "REQUESTED");
    let r = app.book(&alice, book(&station, WED_10, order, "a3")).await;
    let second = r["data"]["bookAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("booked again: {r}"))
        .to_owned();

    // The visit: check-in on the day, the outcome logged; the request is done.
    app.clock.set(at("2026-09-30T01:55:00Z"));
    let staff = app.staff();
    app.ok(
        &staff,
        "mutation($id: ID!) { checkIn(id: $id) { status } }",
        json!({ "id": second }),
        "checkIn",
    )
    .await;
    app.ok(
        &staff,
        "mutation($id: ID!, $o: ConsultationOutcome!) { logConsultationOutcome(appointmentId: $id, outcome: $o) }",
        json!({ "id": second, "o": "ANSWERED" }),
        "logConsultationOutcome",
    )
    .await;
    requests_when(&app, &station, <[Value]>::is_empty).await;
    let subjects = app.outbox_subjects().await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| *s == "tongxin.legalaid.consultation_logged")
            .count(),
        1,
        "{subjects:?}"
    );
    let logged = logged_events(&app).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(
        logged[0].order_id.as_deref(),
        Some(order.to_string().as_str())
    );
    assert_eq!(logged[0].appointment_id, second);
    assert_eq!(logged[0].outcome, "answered");
    app.spawned.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_bookings_for_one_order_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let (station, _notary, lawyer1, lawyer2) = app.park_station().await;
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1, &lawyer2],
    )
    .await;
    for round in 0..5 {
        let order = Uuid::now_v7();
        publish(
            &app,
            &[order_event(
                "order_dispatched",
                order,
                Some(&station),
                "alice",
            )],
        )
        .await;
        requests_when(&app, &station, |r| {
            r.iter().any(|x| x["order"]["id"] == order.to_string())
        })
        .await;
        let before = app.appointment_count().await;
        let alice = app.citizen("alice");
        // Different slots and keys: nothing but the request itself stands between them.
        let starts = [
            "2026-09-30T01:00:00Z",
            "2026-09-30T01:30:00Z",
            "2026-09-30T02:00:00Z",
            "2026-09-30T02:30:00Z",
            "2026-09-30T03:00:00Z",
        ];
        let bookings = starts.iter().enumerate().map(|(i, start)| {
            let (app, alice, station) = (&app, &alice, &station);
            async move {
                app.book(alice, book(station, start, order, &format!("r{round}-{i}")))
                    .await
            }
        });
        let results = futures::future::join_all(bookings).await;
        let won = results
            .iter()
            .filter(|r| r["data"]["bookAppointment"]["id"].is_string())
            .count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        for r in results.iter().filter(|r| !r["errors"].is_null()) {
            assert_eq!(error_code(r), Some("CONFLICT"), "{r}");
        }
        assert_eq!(
            app.appointment_count().await,
            before + 1,
            "the losers stored nothing"
        );
        // Free the slot for the next round.
        let id = results
            .iter()
            .find_map(|r| r["data"]["bookAppointment"]["id"].as_str())
            .expect("winner")
            .to_owned();
        app.ok(
            &alice,
            "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
            json!({ "id": id }),
            "cancelAppointment",
        )
        .await;
    }
    app.spawned.stop().await;
}

async fn logged_events(app: &TestApp) -> Vec<pb::ConsultationLogged> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tongxin_platform::events::outbox::entity;
    entity::Entity::find()
        .filter(entity::Column::Subject.eq("tongxin.legalaid.consultation_logged"))
        .all(app.legal_aid.db())
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| pb::ConsultationLogged::decode(row.payload.as_slice()).expect("decodes"))
        .collect()
}

/// The `appointment_cancelled` events in the outbox, decoded.
async fn cancelled_events(app: &TestApp) -> Vec<pb::AppointmentChanged> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tongxin_platform::events::outbox::entity;
    entity::Entity::find()
        .filter(entity::Column::Subject.eq("tongxin.legalaid.appointment_cancelled"))
        .all(app.legal_aid.db())
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| pb::AppointmentChanged::decode(row.payload.as_slice()).expect("decodes"))
        .collect()
}

async fn appointment_status(app: &TestApp, id: &str) -> Value {
    app.ok(
        &app.staff(),
        "query($id: ID!) { appointment(id: $id) { status } }",
        json!({ "id": id }),
        "appointment",
    )
    .await["status"]
        .clone()
}

/// Publishes `events` and then a dispatch of a new order: once its request is open, the
/// consumer has handled everything before it (it takes events in order).
async fn publish_and_settle(app: &TestApp, station: &str, events: &[Event]) {
    let marker = Uuid::now_v7();
    let mut all = events.to_vec();
    all.push(order_event(
        "order_dispatched",
        marker,
        Some(station),
        "marker",
    ));
    publish(app, &all).await;
    requests_when(app, station, |r| {
        r.iter().any(|x| x["order"]["id"] == marker.to_string())
    })
    .await;
}

#[tokio::test]
async fn a_withdrawn_order_cancels_its_booked_appointment_once_and_never_a_visit_under_way() {
    let app = TestApp::spawn().await;
    let (station, _notary, lawyer1, _lawyer2) = app.park_station().await;
    // One lawyer: a slot is free or it is not.
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1],
    )
    .await;
    let (order, visiting) = (Uuid::now_v7(), Uuid::now_v7());
    publish(
        &app,
        &[
            order_event("order_dispatched", order, Some(&station), "alice"),
            order_event("order_dispatched", visiting, Some(&station), "carol"),
        ],
    )
    .await;
    requests_when(&app, &station, |r| r.len() == 2).await;
    let alice = app.citizen("alice");
    let r = app.book(&alice, book(&station, WED_9, order, "w1")).await;
    let booked = r["data"]["bookAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("booked: {r}"))
        .to_owned();
    let carol = app.citizen("carol");
    let r = app
        .book(&carol, book(&station, WED_10, visiting, "c1"))
        .await;
    let visit = r["data"]["bookAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("booked: {r}"))
        .to_owned();
    // The slot is alice's: bob cannot have it.
    let walk_up = json!({ "stationId": station, "service": "CONSULTATION", "startsAt": WED_9,
                          "topic": "租房合同" });
    let r = app.book(&app.citizen("bob"), walk_up.clone()).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    // Alice withdraws her order (orders publishes `order_cancelled` with her as the actor).
    let mut withdrawn = order_event("order_cancelled", order, None, "alice");
    let mut body = pb::OrderChanged::decode(withdrawn.payload.clone()).expect("body");
    body.actor = "alice".to_owned();
    withdrawn.payload = body.encode_to_vec().into();
    publish_and_settle(&app, &station, std::slice::from_ref(&withdrawn)).await;
    assert_eq!(appointment_status(&app, &booked).await, "CANCELLED");
    let open = requests_when(&app, &station, |_| true).await;
    assert!(
        !open.iter().any(|r| r["order"]["id"] == order.to_string()),
        "alice's request is closed: {open:?}"
    );
    // One `appointment_cancelled`, as any cancellation: the order, alice as the actor.
    let cancelled = cancelled_events(&app).await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0].appointment_id, booked);
    assert_eq!(
        cancelled[0].order_id.as_deref(),
        Some(order.to_string().as_str())
    );
    assert_eq!(cancelled[0].actor, "alice");
    assert_eq!(
        cancelled[0].status,
        tongxin_proto::legalaid::AppointmentStatus::Cancelled as i32
    );
    // The slot is free again: bob books it.
    let r = app.book(&app.citizen("bob"), walk_up).await;
    assert_eq!(r["data"]["bookAppointment"]["status"], "BOOKED", "{r}");

    // The withdrawal delivered again (another event id) changes nothing.
    let mut again = withdrawn.clone();
    again.id = Uuid::now_v7();
    publish_and_settle(&app, &station, &[again]).await;
    assert_eq!(cancelled_events(&app).await.len(), 1);
    assert_eq!(appointment_status(&app, &booked).await, "CANCELLED");

    // Carol is checked in: the visit is under way and her order's withdrawal (a race the
    // check-in won) leaves it, and her request, as they are.
    app.clock.set(at("2026-09-30T01:55:00Z"));
    app.ok(
        &app.staff(),
        "mutation($id: ID!) { checkIn(id: $id) { status } }",
        json!({ "id": visit }),
        "checkIn",
    )
    .await;
    publish_and_settle(
        &app,
        &station,
        &[order_event("order_cancelled", visiting, None, "carol")],
    )
    .await;
    assert_eq!(appointment_status(&app, &visit).await, "CHECKED_IN");
    let open = requests_when(&app, &station, |_| true).await;
    let carols = open
        .iter()
        .find(|r| r["order"]["id"] == visiting.to_string())
        .expect("carol's request is open");
    assert_eq!(carols["status"], "BOOKED");
    assert_eq!(cancelled_events(&app).await.len(), 1);
    app.spawned.stop().await;
}
