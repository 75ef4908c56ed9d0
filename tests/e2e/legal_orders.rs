//! A legal order through the router: 群众点单 法律咨询 → the station (实践站) receives it and
//! dispatches it to a legal-aid station → the request appears at the station → the citizen
//! books a slot for the order → the provider's visit: check-in, outcome logged → the order
//! is completed with the outcome on its timeline, every step live on `orderProgress`.

use std::time::Duration;

use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_venues::demo::{self, paths};

use crate::platform::{Options, Platform, Socket, Subgraphs, next_json, subscribe};

/// 蔡家坝小院's own location (routing holds a 法律咨询 at its station, 虹桥社区).
const CAIJIABA_POINT: (f64, f64) = (29.3868, 105.5701);
const CITIZEN: &str = "wx-e2e-legal-citizen";
const LAWYER: &str = "e2e-lawyer";

fn data<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&chrono::Utc)
}

/// The next `orderProgress` item as (event, state, actor).
async fn progress(socket: &mut Socket) -> (String, String, String) {
    let msg = next_json(socket).await;
    assert_eq!(msg["type"], "next", "{msg}");
    let p = &msg["payload"]["data"]["orderProgress"];
    let text = |k: &str| {
        p[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {msg}"))
            .to_owned()
    };
    (text("event"), text("state"), text("actor"))
}

async fn ok(platform: &Platform, token: &str, query: &str, vars: Value, field: &str) -> Value {
    let r = platform.graphql(Some(token), query, vars).await;
    data(&r, field).clone()
}

/// 虹桥社区's legal-aid station offering `services`, with one lawyer (李律师, the
/// [`LAWYER`] account) giving consultations on Wednesday mornings in 30-minute slots;
/// returns the station's id.
async fn hongqiao_station_with_a_lawyer(
    platform: &Platform,
    staff: &str,
    services: Value,
) -> String {
    let station = ok(
        platform,
        staff,
        "mutation($i: CreateLegalAidStationInput!) { createLegalAidStation(input: $i) { id } }",
        json!({ "i": {
            "unitId": demo::unit_id(paths::HONGQIAO).0.to_string(),
            "name": "虹桥社区公共法律服务点", "address": "虹桥社区便民服务中心",
            "services": services, "minNoticeMinutes": 60, "horizonDays": 30,
        }}),
        "createLegalAidStation",
    )
    .await["id"]
        .as_str()
        .expect("station id")
        .to_owned();
    let provider = ok(
        platform,
        staff,
        "mutation($i: AddLegalAidProviderInput!) { addLegalAidProvider(input: $i) { id } }",
        json!({ "i": {
            "name": "李律师", "kind": "LAWYER", "services": ["CONSULTATION"],
            "stationIds": [station], "accountSubject": LAWYER, "licenceNo": "15001200000001",
        }}),
        "addLegalAidProvider",
    )
    .await["id"]
        .as_str()
        .expect("provider id")
        .to_owned();
    ok(
        platform,
        staff,
        "mutation($s: ID!, $r: RosterRuleInput!) { addRosterRule(stationId: $s, input: $r) { id } }",
        json!({ "s": station, "r": {
            "weekday": "WEDNESDAY", "start": "09:00", "end": "12:00", "service": "CONSULTATION",
            "providerIds": [provider], "slotMinutes": 30,
        }}),
        "addRosterRule",
    )
    .await;
    station
}

/// The order loop through the router, legal aid's clock standing on Monday 2026-12-07,
/// 08:00 in the district (its hand walks it on).
async fn platform_on_monday() -> (Platform, tongxin_platform::clock::ClockHand) {
    let (clock, hand) = tongxin_platform::clock::Clock::manual(at("2026-12-07T00:00:00Z"));
    let platform = Platform::start_with(
        Subgraphs::OrderLoop,
        Options {
            legal_aid_clock: Some(clock),
            ..Options::default()
        },
    )
    .await;
    (platform, hand)
}

#[tokio::test]
async fn a_legal_order_is_booked_at_a_station_and_completed_by_the_visit_through_the_router() {
    // Legal aid's clock stands on Monday 2026-12-07, 08:00 in the district, and walks to the
    // appointment's day for the visit.
    let (platform, hand) = platform_on_monday().await;
    let citizen = platform.sign(CITIZEN, &[Role::Citizen], None);
    let staff = platform.sign("staff-hongqiao", &[Role::Staff], Some(paths::HONGQIAO));
    let lawyer = platform.sign(LAWYER, &[Role::LegalAidProvider], None);

    // 虹桥社区's legal-aid station: a lawyer on Wednesday mornings.
    let station =
        hongqiao_station_with_a_lawyer(&platform, &staff, json!(["CONSULTATION", "MEDIATION"]))
            .await;

    // The menu says who handles 法律咨询.
    let menu = ok(
        &platform,
        &citizen,
        "{ category(code: \"legal_consult\") { name handledBy legalService } }",
        json!({}),
        "category",
    )
    .await;
    assert_eq!(
        menu,
        json!({ "name": "法律咨询", "handledBy": "LEGAL_AID", "legalService": "consultation" })
    );

    // 群众点单.
    let placed = ok(
        &platform,
        &citizen,
        "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id state holdingUnitPath } }",
        json!({ "input": {
            "category": "legal_consult",
            "description": "工资被拖欠三个月",
            "form": [{ "key": "matter", "value": "劳动争议" }],
            "location": { "lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1 },
            "contactPhone": "138 1234 5678",
            "photos": [],
            "idempotencyKey": "e2e-legal-1",
        }}),
        "placeOrder",
    )
    .await;
    assert_eq!(placed["holdingUnitPath"], paths::HONGQIAO, "{placed}");
    let id = placed["id"].as_str().expect("id").to_owned();
    let mut socket = subscribe(
        &platform.url(),
        &citizen,
        &format!("subscription {{ orderProgress(orderId: \"{id}\") {{ event state actor }} }}"),
    )
    .await;
    let mut seen = vec![progress(&mut socket).await];

    // The station (实践站) receives it and sends it to the legal-aid station.
    ok(
        &platform,
        &staff,
        "mutation($id: ID!) { receiveOrder(orderId: $id) { state } }",
        json!({ "id": id }),
        "receiveOrder",
    )
    .await;
    let r = ok(
        &platform,
        &staff,
        "mutation($id: ID!, $s: ID!) { dispatchOrder(orderId: $id, legalAidStationId: $s) { state legalAidStationId } }",
        json!({ "id": id, "s": station }),
        "dispatchOrder",
    )
    .await;
    assert_eq!(
        r,
        json!({ "state": "DISPATCHED", "legalAidStationId": station })
    );

    // The request appears at the legal-aid station.
    let requests = "query($s: ID!) { consultationRequests(stationId: $s) { edges { node { order { id } status service } } } }";
    let arrived = |r: &Value| {
        r["data"]["consultationRequests"]["edges"][0]["node"]["order"]["id"] == id.as_str()
    };
    let mut last = Value::Null;
    for _ in 0..100 {
        last = platform
            .graphql(Some(&staff), requests, json!({ "s": station }))
            .await;
        if arrived(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(arrived(&last), "the request reaches the station: {last}");
    assert_eq!(
        last["data"]["consultationRequests"]["edges"][0]["node"]["status"],
        "REQUESTED"
    );

    // The citizen books Wednesday 09:00 for the order.
    let booked = ok(
        &platform,
        &citizen,
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id status order { id } } }",
        json!({ "i": {
            "stationId": station, "service": "CONSULTATION", "startsAt": "2026-12-09T01:00:00Z",
            "topic": "欠薪咨询", "parties": ["张三丰"], "orderId": id, "idempotencyKey": "e2e-book-1",
        }}),
        "bookAppointment",
    )
    .await;
    assert_eq!(booked["order"]["id"], id.as_str(), "{booked}");
    let appointment = booked["id"].as_str().expect("appointment").to_owned();
    seen.push(progress(&mut socket).await); // received
    seen.push(progress(&mut socket).await); // dispatched
    seen.push(progress(&mut socket).await); // accepted, from the booking

    // The visit: the lawyer checks the citizen in on the day and logs the outcome.
    hand.set(at("2026-12-09T00:55:00Z"));
    ok(
        &platform,
        &lawyer,
        "mutation($id: ID!) { checkIn(id: $id) { status } }",
        json!({ "id": appointment }),
        "checkIn",
    )
    .await;
    seen.push(progress(&mut socket).await);
    ok(
        &platform,
        &lawyer,
        "mutation($id: ID!) { logConsultationOutcome(appointmentId: $id, outcome: ANSWERED) }",
        json!({ "id": appointment }),
        "logConsultationOutcome",
    )
    .await;
    seen.push(progress(&mut socket).await);
    drop(socket);
    let step = |e: &str, s: &str, a: &str| (e.to_owned(), s.to_owned(), a.to_owned());
    assert_eq!(
        seen,
        vec![
            step("placed", "PLACED", CITIZEN),
            step("received", "RECEIVED", "staff-hongqiao"),
            step("dispatched", "DISPATCHED", "staff-hongqiao"),
            step("accepted", "ACCEPTED", CITIZEN),
            step("started", "IN_PROGRESS", LAWYER),
            step("completed", "COMPLETED", LAWYER),
        ]
    );

    // The order's timeline names the station, the slot and the outcome.
    let timeline = ok(
        &platform,
        &citizen,
        "query($id: ID!) { orderTimeline(orderId: $id) { edges { node { event role note } } } }",
        json!({ "id": id }),
        "orderTimeline",
    )
    .await;
    let rows: Vec<(String, String, String)> = timeline["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let n = &e["node"];
            let t = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (t("event"), t("role"), t("note"))
        })
        .collect();
    let accepted = rows
        .iter()
        .find(|r| r.0 == "accepted")
        .expect("accepted row");
    assert_eq!(accepted.1, "legal_aid");
    assert!(
        accepted.2.contains(&station) && accepted.2.contains("2026-12-09 09:00"),
        "{accepted:?}"
    );
    let completed = rows
        .iter()
        .find(|r| r.0 == "completed")
        .expect("completed row");
    assert_eq!(completed.2, "consultation outcome: answered");
    let r = ok(
        &platform,
        &citizen,
        "query($id: ID!) { order(id: $id) { state } }",
        json!({ "id": id }),
        "order",
    )
    .await;
    assert_eq!(r["state"], "COMPLETED");

    // The request is done: nothing open at the station.
    let r = platform
        .graphql(Some(&staff), requests, json!({ "s": station }))
        .await;
    assert_eq!(data(&r, "consultationRequests")["edges"], json!([]), "{r}");

    // Every event, read as another department would: nothing personal in any of them.
    let subjects = crate::outside_consumer::decode_every_event(
        &platform,
        &["工资被拖欠", "欠薪咨询", "张三丰", "12345678", "1234 5678"],
    )
    .await;
    for subject in [
        "tongxin.orders.order_dispatched",
        "tongxin.legalaid.appointment_booked",
        "tongxin.legalaid.appointment_checked_in",
        "tongxin.legalaid.consultation_logged",
        "tongxin.orders.order_completed",
    ] {
        assert!(
            subjects.contains(subject),
            "{subject} not seen: {subjects:?}"
        );
    }
    platform.stop().await;
}

/// Withdrawing through the router: the citizen books a slot for the order, then cancels the
/// order (booked is not yet visited); legal aid cancels the appointment and another citizen
/// books the freed slot.
#[tokio::test]
async fn a_booked_legal_order_is_withdrawn_and_its_slot_goes_to_someone_else_through_the_router() {
    let (platform, _hand) = platform_on_monday().await;
    let citizen = platform.sign(CITIZEN, &[Role::Citizen], None);
    let other = platform.sign("wx-e2e-legal-other", &[Role::Citizen], None);
    let staff = platform.sign("staff-hongqiao", &[Role::Staff], Some(paths::HONGQIAO));
    // One lawyer: the 09:00 slot is someone's or free.
    let station = hongqiao_station_with_a_lawyer(&platform, &staff, json!(["CONSULTATION"])).await;
    let id = ok(
        &platform,
        &citizen,
        "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
        json!({ "input": {
            "category": "legal_consult", "description": "邻居占用楼道",
            "form": [{ "key": "matter", "value": "邻里纠纷" }],
            "location": { "lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1 },
            "contactPhone": "138 1234 5678", "photos": [], "idempotencyKey": "e2e-withdraw-1",
        }}),
        "placeOrder",
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    ok(
        &platform,
        &staff,
        "mutation($id: ID!) { receiveOrder(orderId: $id) { state } }",
        json!({ "id": id }),
        "receiveOrder",
    )
    .await;
    ok(
        &platform,
        &staff,
        "mutation($id: ID!, $s: ID!) { dispatchOrder(orderId: $id, legalAidStationId: $s) { state } }",
        json!({ "id": id, "s": station }),
        "dispatchOrder",
    )
    .await;
    let book = |who: &str, key: &str, order: Option<&str>| {
        json!({ "i": {
            "stationId": station, "service": "CONSULTATION", "startsAt": "2026-12-09T01:00:00Z",
            "topic": "楼道纠纷", "orderId": order, "idempotencyKey": format!("{who}-{key}"),
        }})
    };
    const BOOK: &str =
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id status } }";
    // The request reaches the station, then the citizen books for the order.
    let mut booked = Value::Null;
    for _ in 0..100 {
        booked = platform
            .graphql(Some(&citizen), BOOK, book("citizen", "1", Some(&id)))
            .await;
        if booked["errors"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let slot = data(&booked, "bookAppointment")["id"]
        .as_str()
        .expect("appointment")
        .to_owned();
    for _ in 0..100 {
        if order_state(&platform, &citizen, &id).await == "ACCEPTED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(order_state(&platform, &citizen, &id).await, "ACCEPTED");
    let r = platform
        .graphql(Some(&other), BOOK, book("other", "1", None))
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "CONFLICT",
        "the slot is taken: {r}"
    );

    let r = ok(
        &platform,
        &citizen,
        "mutation($id: ID!) { cancelOrder(orderId: $id, reason: \"已自行协商解决\") { state } }",
        json!({ "id": id }),
        "cancelOrder",
    )
    .await;
    assert_eq!(r["state"], "CANCELLED");
    let mut last = Value::Null;
    for _ in 0..100 {
        last = platform
            .graphql(
                Some(&citizen),
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
    let r = platform
        .graphql(Some(&other), BOOK, book("other", "2", None))
        .await;
    assert_eq!(data(&r, "bookAppointment")["status"], "BOOKED", "{r}");
    platform.stop().await;
}

async fn order_state(platform: &Platform, token: &str, id: &str) -> Value {
    platform
        .graphql(
            Some(token),
            "query($id: ID!) { order(id: $id) { state } }",
            json!({ "id": id }),
        )
        .await["data"]["order"]["state"]
        .clone()
}
