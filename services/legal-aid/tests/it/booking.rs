//! Booking: the slot, idempotency, round-robin, reschedule, cancel, check-in, no-show, the
//! bad input, who sees what, and the events.

use serde_json::json;

use super::*;

const WED_9: &str = "2026-09-30T01:00:00Z";
const WED_930: &str = "2026-09-30T01:30:00Z";

fn booking(station: &str, start: &str, key: Option<&str>) -> serde_json::Value {
    json!({ "stationId": station, "service": "CONSULTATION", "startsAt": start,
            "topic": "劳动合同纠纷", "parties": ["张三", "某电子公司"], "phone": "13800138000",
            "idempotencyKey": key })
}

async fn wednesday_station(app: &TestApp, pool: bool) -> (String, String, String) {
    let (station, _notary, lawyer1, lawyer2) = app.park_station().await;
    let providers: Vec<&str> = if pool {
        vec![&lawyer1, &lawyer2]
    } else {
        vec![&lawyer1]
    };
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &providers,
    )
    .await;
    (station, lawyer1, lawyer2)
}

#[tokio::test]
async fn a_booking_takes_its_slot_and_the_same_key_gives_the_same_appointment() {
    let app = TestApp::spawn().await;
    let (station, lawyer1, _) = wednesday_station(&app, false).await;
    let alice = app.citizen("alice");
    let r = app.book(&alice, booking(&station, WED_9, Some("k1"))).await;
    let first = r["data"]["bookAppointment"].clone();
    assert_eq!(first["status"], "BOOKED", "{r}");
    assert_eq!(first["provider"]["id"], lawyer1.as_str());
    assert_eq!(first["endsAt"], "2026-09-30T01:30:00+00:00");
    assert_eq!(
        first["phone"], "13800138000",
        "the citizen sees their own phone"
    );
    // The same key again: the same appointment, nothing new stored.
    let again = app.book(&alice, booking(&station, WED_9, Some("k1"))).await;
    assert_eq!(
        again["data"]["bookAppointment"]["id"], first["id"],
        "{again}"
    );
    assert_eq!(app.appointment_count().await, 1);
    // The same key for another slot is a conflict, not a second booking.
    let other = app
        .book(&alice, booking(&station, WED_930, Some("k1")))
        .await;
    assert_eq!(error_code(&other), Some("CONFLICT"), "{other}");
    // The slot is gone for everyone else.
    let slots = app
        .ok(
            &app.citizen("bob"),
            "query($s: ID!) { availableSlots(stationId: $s, service: CONSULTATION,
              from: \"2026-09-30T00:00:00Z\", to: \"2026-10-01T00:00:00Z\") { startsAt } }",
            json!({ "s": station }),
            "availableSlots",
        )
        .await;
    let starts: Vec<&str> = slots
        .as_array()
        .expect("slots")
        .iter()
        .filter_map(|s| s["startsAt"].as_str())
        .collect();
    assert_eq!(starts.len(), 5, "{starts:?}");
    assert!(!starts.contains(&"2026-09-30T01:00:00+00:00"));
    let taken = app
        .book(&app.citizen("bob"), booking(&station, WED_9, None))
        .await;
    assert_eq!(error_code(&taken), Some("CONFLICT"), "{taken}");
    assert_eq!(app.appointment_count().await, 1);
    // One event, no personal data in it.
    assert_eq!(
        app.outbox_subjects().await,
        ["tongxin.legalaid.appointment_booked"]
    );
    use sea_orm::EntityTrait;
    let row = tongxin_platform::events::outbox::entity::Entity::find()
        .one(app.legal_aid.db())
        .await
        .expect("outbox")
        .expect("row");
    let body = String::from_utf8_lossy(&row.payload);
    for secret in ["13800138000", "张三", "劳动合同"] {
        assert!(!body.contains(secret), "{secret} in the event");
    }
}

#[tokio::test]
async fn a_pool_assigns_the_least_recently_booked_provider() {
    let app = TestApp::spawn().await;
    let (station, lawyer1, lawyer2) = wednesday_station(&app, true).await;
    let mut assigned = Vec::new();
    // Six slots at two providers each: the pool alternates, starting with the lower id.
    for (i, slot) in ["01:00", "01:00", "01:30", "02:00", "02:00", "02:30"]
        .iter()
        .enumerate()
    {
        let r = app
            .book(
                &app.citizen(&format!("c{i}")),
                booking(&station, &format!("2026-09-30T{slot}:00Z"), None),
            )
            .await;
        assigned.push(
            r["data"]["bookAppointment"]["provider"]["id"]
                .as_str()
                .expect("provider")
                .to_owned(),
        );
    }
    let (low, high) = if lawyer1 < lawyer2 {
        (lawyer1, lawyer2)
    } else {
        (lawyer2, lawyer1)
    };
    assert_eq!(
        assigned,
        [
            low.clone(),
            high.clone(),
            low.clone(),
            high.clone(),
            low,
            high
        ],
        "round-robin, ties by id"
    );
    // Both are taken at 09:00 now: a third booking of that slot is refused.
    let r = app
        .book(&app.citizen("late"), booking(&station, WED_9, None))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
}

#[tokio::test]
async fn rescheduling_frees_the_old_slot_and_a_cancelled_appointment_stays_put() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let alice = app.citizen("alice");
    let id =
        app.book(&alice, booking(&station, WED_9, None)).await["data"]["bookAppointment"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
    let reschedule = "mutation($id: ID!, $t: DateTime!) { rescheduleAppointment(id: $id, startsAt: $t) { startsAt version } }";
    let moved = app
        .ok(
            &alice,
            reschedule,
            json!({ "id": id, "t": "2026-09-30T02:00:00Z" }),
            "rescheduleAppointment",
        )
        .await;
    assert_eq!(moved["startsAt"], "2026-09-30T02:00:00+00:00");
    assert_eq!(moved["version"], 2);
    // 09:00 is free again: bob takes it.
    let bob = app
        .book(&app.citizen("bob"), booking(&station, WED_9, None))
        .await;
    assert_eq!(bob["data"]["bookAppointment"]["status"], "BOOKED", "{bob}");
    // Alice cannot move onto bob's slot.
    let r = app
        .gql(Some(&alice), reschedule, json!({ "id": id, "t": WED_9 }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    // Cancelled, it cannot be rescheduled any more.
    let cancelled = app
        .ok(
            &alice,
            "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
            json!({ "id": id }),
            "cancelAppointment",
        )
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let r = app
        .gql(Some(&alice), reschedule, json!({ "id": id, "t": WED_930 }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    assert_eq!(
        app.outbox_subjects().await,
        [
            "tongxin.legalaid.appointment_booked",
            "tongxin.legalaid.appointment_rescheduled",
            "tongxin.legalaid.appointment_booked",
            "tongxin.legalaid.appointment_cancelled",
        ]
    );
}

#[tokio::test]
async fn check_in_on_the_day_no_show_after_the_start_and_walk_ins() {
    let app = TestApp::spawn().await;
    let (station, lawyer1, _) = wednesday_station(&app, false).await;
    let alice = app.citizen("alice");
    let book = |who: &'static str, start: &'static str| {
        let app = &app;
        let station = station.clone();
        async move {
            app.book(&app.citizen(who), booking(&station, start, None))
                .await["data"]["bookAppointment"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let a = book("alice", WED_9).await;
    let b = book("bob", WED_930).await;
    let check_in = "mutation($id: ID!) { checkIn(id: $id) { status } }";
    let no_show = "mutation($id: ID!) { markNoShow(id: $id) { status } }";
    let staff = app.staff();
    // Not on the day yet.
    let r = app.gql(Some(&staff), check_in, json!({ "id": a })).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // Wednesday 08:50 Shanghai: alice arrives; bob has not started, so no no-show yet.
    app.clock.set(at("2026-09-30T00:50:00Z"));
    // A citizen cannot check themselves in.
    let r = app.gql(Some(&alice), check_in, json!({ "id": a })).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let done = app
        .ok(&staff, check_in, json!({ "id": a }), "checkIn")
        .await;
    assert_eq!(done["status"], "CHECKED_IN");
    let r = app.gql(Some(&staff), check_in, json!({ "id": a })).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "checked in twice: {r}");
    let r = app.gql(Some(&staff), no_show, json!({ "id": b })).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // 09:45: bob did not come; his lawyer (linked account) marks it.
    app.clock.set(at("2026-09-30T01:45:00Z"));
    let lawyer = app.token("lawyer-1", &[Role::LegalAidProvider], None);
    let done = app
        .ok(&lawyer, no_show, json!({ "id": b }), "markNoShow")
        .await;
    assert_eq!(done["status"], "NO_SHOW");
    // A walk-in at 10:00 with the lawyer; a second one at the same time is refused.
    app.clock.set(at("2026-09-30T02:00:00Z"));
    let walk_in =
        "mutation($i: WalkInInput!) { checkInWalkIn(input: $i) { status walkIn provider { id } } }";
    let input = json!({ "i": { "stationId": station, "service": "CONSULTATION", "topic": "工资拖欠", "minutes": 20 } });
    let w = app
        .ok(&lawyer, walk_in, input.clone(), "checkInWalkIn")
        .await;
    assert_eq!(
        (w["status"].clone(), w["walkIn"].clone()),
        (json!("CHECKED_IN"), json!(true))
    );
    assert_eq!(w["provider"]["id"], lawyer1.as_str());
    let r = app.gql(Some(&lawyer), walk_in, input).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .gql(
            Some(&alice),
            walk_in,
            json!({ "i": { "stationId": station, "service": "CONSULTATION" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    assert_eq!(
        app.outbox_subjects().await[2..],
        [
            "tongxin.legalaid.appointment_checked_in",
            "tongxin.legalaid.appointment_no_show",
            "tongxin.legalaid.appointment_checked_in",
        ]
    );
}

#[tokio::test]
async fn bad_bookings_are_refused_with_their_code_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let alice = app.citizen("alice");
    // Now: Monday 2026-09-28 08:00 Shanghai. Notice 120 min, horizon 30 days.
    app.clock.set(at("2026-09-30T00:00:00Z")); // Wednesday 08:00
    for (start, service, code, word) in [
        (
            "2026-09-23T01:00:00Z",
            "CONSULTATION",
            "BAD_USER_INPUT",
            "past",
        ),
        (
            "2026-09-30T01:00:00Z",
            "CONSULTATION",
            "BAD_USER_INPUT",
            "ahead",
        ), // 09:00, notice 120
        (
            "2026-11-04T01:00:00Z",
            "CONSULTATION",
            "BAD_USER_INPUT",
            "days ahead",
        ),
        (
            "2026-10-07T01:00:00Z",
            "CONSULTATION",
            "BAD_USER_INPUT",
            "closed",
        ), // National Day
        (
            "2026-09-30T02:10:00Z",
            "CONSULTATION",
            "BAD_USER_INPUT",
            "slot",
        ),
        (
            "2026-09-30T03:00:00Z",
            "NOTARIZATION",
            "BAD_USER_INPUT",
            "slot",
        ),
    ] {
        let mut input = booking(&station, start, None);
        input["service"] = json!(service);
        let r = app.book(&alice, input).await;
        assert_eq!(error_code(&r), Some(code), "{start}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{start}: {message}");
    }
    let r = app
        .book(
            &alice,
            booking(&Uuid::new_v4().to_string(), "2026-10-14T02:00:00Z", None),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let mut input = booking(&station, "2026-10-14T02:00:00Z", None);
    input["providerId"] = json!(Uuid::new_v4());
    let r = app.book(&alice, input).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let mut input = booking(&station, "2026-10-14T02:00:00Z", None);
    input["phone"] = json!("12345");
    let r = app.book(&alice, input).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let mut input = booking(&station, "2026-10-14T02:00:00Z", None);
    input["topic"] = json!("  ");
    let r = app.book(&alice, input).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(app.appointment_count().await, 0);
    assert!(app.outbox_subjects().await.is_empty());
}

#[tokio::test]
async fn citizens_see_their_own_providers_their_schedule_staff_their_scope() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let alice = app.citizen("alice");
    let id =
        app.book(&alice, booking(&station, WED_9, None)).await["data"]["bookAppointment"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
    let read = "query($id: ID!) { appointment(id: $id) { id topic parties phone } }";
    // Alice, her lawyer (masked phone) and the station's staff see it.
    let mine = app
        .ok(&alice, read, json!({ "id": id }), "appointment")
        .await;
    assert_eq!(mine["parties"], json!(["张三", "某电子公司"]));
    let lawyer = app.token("lawyer-1", &[Role::LegalAidProvider], None);
    let theirs = app
        .ok(&lawyer, read, json!({ "id": id }), "appointment")
        .await;
    assert_eq!(theirs["phone"], "138****8000");
    let staff = app
        .ok(&app.staff(), read, json!({ "id": id }), "appointment")
        .await;
    assert_eq!(staff["phone"], "13800138000");
    // Bob, the other lawyer, staff of another unit: no such appointment.
    for token in [
        app.citizen("bob"),
        app.token("lawyer-2", &[Role::LegalAidProvider], None),
        app.token("hq-staff", &[Role::Staff], Some(units::HONGQIAO)),
        app.token("foreign-admin", &[Role::Admin], Some(units::OTHER_DISTRICT)),
    ] {
        let r = app.gql(Some(&token), read, json!({ "id": id })).await;
        assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    }
    // Bob cannot cancel it either (it does not exist for him).
    let r = app
        .gql(
            Some(&app.citizen("bob")),
            "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    // The provider's schedule holds it; the other provider's does not.
    let schedule = "query { myProviderSchedule { edges { node { id startsAt } } } }";
    let s = app
        .ok(&lawyer, schedule, json!({}), "myProviderSchedule")
        .await;
    assert_eq!(s["edges"][0]["node"]["id"], id.as_str());
    let s = app
        .ok(
            &app.token("lawyer-2", &[Role::LegalAidProvider], None),
            schedule,
            json!({}),
            "myProviderSchedule",
        )
        .await;
    assert_eq!(s["edges"], json!([]));
    let r = app.gql(Some(&alice), schedule, json!({})).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    // Staff list the station's appointments; staff elsewhere are refused.
    let list = "query($s: ID) { stationAppointments(stationId: $s) { edges { node { id } } } }";
    let l = app
        .ok(
            &app.staff(),
            list,
            json!({ "s": station }),
            "stationAppointments",
        )
        .await;
    assert_eq!(l["edges"].as_array().map(Vec::len), Some(1));
    let r = app
        .gql(
            Some(&app.token("hq-staff", &[Role::Staff], Some(units::HONGQIAO))),
            list,
            json!({ "s": station }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    // My appointments: alice has one, bob none; anonymous is refused.
    let my = "query { myAppointments(first: 10) { edges { node { id } } } }";
    let m = app.ok(&alice, my, json!({}), "myAppointments").await;
    assert_eq!(m["edges"].as_array().map(Vec::len), Some(1));
    let r = app.gql(None, my, json!({})).await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    let r = app
        .gql(
            Some(&alice),
            "query { myAppointments(first: 101) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
}

#[tokio::test]
async fn grpc_answers_stations_slots_and_appointments_to_verified_callers() {
    use tongxin_proto::legalaid as pb;
    use tongxin_proto::legalaid::legal_aid_service_client::LegalAidServiceClient;
    let app = TestApp::spawn().await;
    let (station, lawyer1, _) = wednesday_station(&app, false).await;
    let id = app
        .book(&app.citizen("alice"), booking(&station, WED_9, None))
        .await["data"]["bookAppointment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut client = LegalAidServiceClient::connect(format!("http://{}", app.grpc_addr()))
        .await
        .expect("connect");
    let orders = app.spawned.service_credential("orders");
    let got = client
        .get_station(tongxin_platform::grpc::request_as(
            pb::GetStationRequest {
                id: station.clone(),
            },
            Some(&orders),
        ))
        .await
        .expect("station")
        .into_inner();
    assert_eq!(got.org_unit_path, units::STATION);
    let slots = client
        .available_slots(tongxin_platform::grpc::request_as(
            pb::AvailableSlotsRequest {
                station_id: station.clone(),
                service: pb::LegalService::Consultation as i32,
                from_ms: at("2026-09-30T00:00:00Z").timestamp_millis(),
                to_ms: at("2026-10-01T00:00:00Z").timestamp_millis(),
            },
            Some(&orders),
        ))
        .await
        .expect("slots")
        .into_inner();
    assert_eq!(slots.slots.len(), 5);
    assert_eq!(slots.slots[0].provider_ids, [lawyer1]);
    let a = client
        .get_appointment(tongxin_platform::grpc::request_as(
            pb::GetAppointmentRequest { id: id.clone() },
            Some(&orders),
        ))
        .await
        .expect("appointment")
        .into_inner();
    assert_eq!(a.status, pb::AppointmentStatus::Booked as i32);
    // No credential: UNAUTHENTICATED; an unknown station: NOT_FOUND.
    let err = client
        .get_station(tongxin_platform::grpc::request_as(
            pb::GetStationRequest {
                id: station.clone(),
            },
            None,
        ))
        .await
        .expect_err("no credential");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let err = client
        .get_station(tongxin_platform::grpc::request_as(
            pb::GetStationRequest {
                id: Uuid::new_v4().to_string(),
            },
            Some(&orders),
        ))
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reminders_go_out_once_a_day_and_an_hour_before_even_from_racing_replicas() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let alice = app
        .book(&app.citizen("alice"), booking(&station, WED_9, None))
        .await;
    assert!(alice["errors"].is_null(), "{alice}");
    let bob = app
        .book(&app.citizen("bob"), booking(&station, WED_930, None))
        .await["data"]["bookAppointment"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.ok(
        &app.citizen("bob"),
        "mutation($id: ID!) { cancelAppointment(id: $id) { status } }",
        json!({ "id": bob }),
        "cancelAppointment",
    )
    .await;
    // Tuesday 09:10 Shanghai: alice's 24-hour reminder is due; two replicas race for it.
    app.clock.set(at("2026-09-29T01:10:00Z"));
    let other = app.legal_aid.clone();
    let (a, b) = tokio::join!(
        app.legal_aid.send_due_reminders(100),
        other.send_due_reminders(100)
    );
    a.expect("round");
    b.expect("round");
    assert_eq!(reminders(&app).await, 1);
    app.legal_aid.send_due_reminders(100).await.expect("round");
    assert_eq!(reminders(&app).await, 1, "sent once");
    // Wednesday 08:35: alice's 1-hour reminder; bob's cancelled one gets none.
    app.clock.set(at("2026-09-30T00:35:00Z"));
    app.legal_aid.send_due_reminders(100).await.expect("round");
    app.legal_aid.send_due_reminders(100).await.expect("round");
    assert_eq!(reminders(&app).await, 2);
    use prost::Message;
    use sea_orm::{EntityTrait, QueryOrder};
    let last = tongxin_platform::events::outbox::entity::Entity::find()
        .order_by_desc(tongxin_platform::events::outbox::entity::Column::Seq)
        .one(app.legal_aid.db())
        .await
        .expect("outbox")
        .expect("row");
    let event =
        tongxin_proto::events::AppointmentChanged::decode(last.payload.as_slice()).expect("decode");
    assert_eq!(event.reminder_hours, Some(1));
}

async fn reminders(app: &TestApp) -> usize {
    app.outbox_subjects()
        .await
        .into_iter()
        .filter(|s| s == "tongxin.legalaid.appointment_reminder_due")
        .count()
}

#[tokio::test]
async fn a_provider_subscribes_to_their_calendar_feed_without_phones_and_rotates_it() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let r = app
        .book(&app.citizen("alice"), booking(&station, WED_9, None))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let lawyer = app.token("lawyer-1", &[Role::LegalAidProvider], None);
    let rotate = "mutation { rotateMyCalendarFeed }";
    let path = app
        .ok(&lawyer, rotate, json!({}), "rotateMyCalendarFeed")
        .await;
    let path = path.as_str().expect("path").to_owned();
    let base = format!(
        "http://{}",
        app.spawned.service(tongxin_legal_aid::NAME).http_addr()
    );
    let get = |p: String| {
        let base = base.clone();
        async move { reqwest::get(format!("{base}{p}")).await.expect("get") }
    };
    let feed = get(path.clone()).await;
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/calendar")
    );
    let body = feed.text().await.expect("body");
    assert!(
        body.contains("BEGIN:VCALENDAR") && body.contains("BEGIN:VEVENT"),
        "{body}"
    );
    assert!(body.contains("劳动合同纠纷"), "the topic is shown: {body}");
    assert!(body.contains("DTSTART:20260930T010000Z"), "{body}");
    for secret in ["13800138000", "张三", "某电子公司"] {
        assert!(!body.contains(secret), "{secret} in the feed");
    }
    // Rotating ends the old URL; a citizen has no feed.
    let new_path = app
        .ok(&lawyer, rotate, json!({}), "rotateMyCalendarFeed")
        .await;
    assert_ne!(new_path.as_str(), Some(path.as_str()));
    assert_eq!(get(path).await.status(), 404);
    assert_eq!(
        get(new_path.as_str().expect("path").to_owned())
            .await
            .status(),
        200
    );
    let r = app
        .gql(Some(&app.citizen("alice")), rotate, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    assert_eq!(
        get("/legal-aid/calendar/guess.ics".to_owned())
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn outcomes_are_logged_once_and_counted_on_a_hand_checked_set() {
    let app = TestApp::spawn().await;
    let (station, _, _) = wednesday_station(&app, false).await;
    let mut ids = Vec::new();
    for (i, start) in ["01:00", "01:30", "02:00", "02:30"].iter().enumerate() {
        let r = app
            .book(
                &app.citizen(&format!("c{i}")),
                booking(&station, &format!("2026-09-30T{start}:00Z"), None),
            )
            .await;
        ids.push(
            r["data"]["bookAppointment"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let staff = app.staff();
    let log = "mutation($id: ID!, $o: ConsultationOutcome!) { logConsultationOutcome(appointmentId: $id, outcome: $o) }";
    // Not checked in yet: no outcome.
    let r = app
        .gql(Some(&staff), log, json!({ "id": ids[0], "o": "ANSWERED" }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    app.clock.set(at("2026-09-30T03:00:00Z"));
    for id in &ids[..3] {
        app.ok(
            &staff,
            "mutation($id: ID!) { checkIn(id: $id) { status } }",
            json!({ "id": id }),
            "checkIn",
        )
        .await;
    }
    app.ok(
        &staff,
        "mutation($id: ID!) { markNoShow(id: $id) { status } }",
        json!({ "id": ids[3] }),
        "markNoShow",
    )
    .await;
    for (id, outcome) in [
        (&ids[0], "ANSWERED"),
        (&ids[1], "REFERRED"),
        (&ids[2], "CASE_TAKEN"),
    ] {
        app.ok(
            &staff,
            log,
            json!({ "id": id, "o": outcome }),
            "logConsultationOutcome",
        )
        .await;
    }
    // A second outcome for one consultation: CONFLICT, nothing stored.
    let r = app
        .gql(Some(&staff), log, json!({ "id": ids[0], "o": "REFERRED" }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let counts = app
        .ok(&staff, "query($s: ID!) { legalAidCounts(stationId: $s, from: \"2026-09-01T00:00:00Z\", to: \"2026-10-01T00:00:00Z\") {
               group consultations referrals legalAidCases notarizations mediations noShows noShowRate } }",
            json!({ "s": station }), "legalAidCounts")
        .await;
    assert_eq!(
        counts,
        json!([{ "group": "all", "consultations": 3, "referrals": 1, "legalAidCases": 1, "notarizations": 0,
                 "mediations": 0, "noShows": 1, "noShowRate": 0.25 }])
    );
    let by_month = app
        .ok(&staff, "query($s: ID!) { legalAidCounts(stationId: $s, from: \"2026-09-01T00:00:00Z\", to: \"2026-11-01T00:00:00Z\", groupBy: MONTH) {
               group consultations noShows } }", json!({ "s": station }), "legalAidCounts")
        .await;
    assert_eq!(
        by_month,
        json!([{ "group": "2026-09", "consultations": 3, "noShows": 1 }])
    );
    let r = app
        .gql(Some(&app.citizen("c0")), "query($s: ID!) { legalAidCounts(stationId: $s, from: \"2026-09-01T00:00:00Z\", to: \"2026-10-01T00:00:00Z\") { group } }", json!({ "s": station }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
}
