//! The duty roster: rules, the holiday calendar with its make-up working days, exceptions,
//! and the rules' bad input.

use serde_json::json;

use super::*;

const ROSTER: &str = "query($s: ID!, $f: NaiveDate!, $t: NaiveDate!) {
    dutyRoster(stationId: $s, from: $f, to: $t) {
        date closed calendar { holiday follows name }
        sittings { startsAt endsAt service extra providers { id } } } }";

#[tokio::test]
async fn the_roster_skips_national_day_and_follows_wednesday_on_the_make_up_saturday() {
    let app = TestApp::spawn().await;
    let (station, notary, lawyer1, lawyer2) = app.park_station().await;
    app.rule(
        &station,
        "TUESDAY",
        "09:00",
        "12:00",
        "NOTARIZATION",
        &[&notary],
    )
    .await;
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1],
    )
    .await;
    app.rule(
        &station,
        "FRIDAY",
        "14:00",
        "17:30",
        "CONSULTATION",
        &[&lawyer2],
    )
    .await;

    let days = app
        .ok(
            &app.citizen("c"),
            ROSTER,
            json!({ "s": station, "f": "2026-09-28", "t": "2026-10-11" }),
            "dutyRoster",
        )
        .await;
    let days = days.as_array().expect("days");
    assert_eq!(days.len(), 14);
    let day = |d: &str| days.iter().find(|x| x["date"] == d).expect("day").clone();

    // Tuesday before the holiday: the notary, 09:00-12:00 Shanghai = 01:00-04:00 UTC.
    let tue = day("2026-09-29");
    assert_eq!(tue["sittings"][0]["startsAt"], "2026-09-29T01:00:00+00:00");
    assert_eq!(tue["sittings"][0]["endsAt"], "2026-09-29T04:00:00+00:00");
    assert_eq!(tue["sittings"][0]["providers"][0]["id"], notary.as_str());
    assert_eq!(
        day("2026-10-02")["sittings"],
        json!([]),
        "Friday in the holiday"
    );
    // The whole national holiday has no roster, and says why.
    for d in 1..=7 {
        let x = day(&format!("2026-10-0{d}"));
        assert_eq!(x["sittings"], json!([]), "{x}");
        assert_eq!(x["calendar"]["holiday"], true, "{x}");
    }
    // Saturday 10 October works as a Wednesday: the Wednesday lawyer sits.
    let sat = day("2026-10-10");
    assert_eq!(sat["calendar"]["follows"], "WEDNESDAY");
    assert_eq!(sat["sittings"].as_array().map(Vec::len), Some(1), "{sat}");
    assert_eq!(sat["sittings"][0]["providers"][0]["id"], lawyer1.as_str());
    assert_eq!(sat["sittings"][0]["startsAt"], "2026-10-10T01:00:00+00:00");
    // A plain Sunday has nothing, the plain Friday after has the Friday lawyer.
    assert_eq!(day("2026-10-11")["sittings"], json!([]));
    assert_eq!(
        day("2026-10-09")["sittings"][0]["providers"][0]["id"],
        lawyer2.as_str()
    );
    assert_eq!(
        day("2026-10-09")["sittings"][0]["startsAt"],
        "2026-10-09T06:00:00+00:00"
    );

    // Slots follow the roster: the make-up Saturday has six 30-minute consultation slots.
    let slots = app
        .ok(
            &app.citizen("c"),
            "query($s: ID!, $f: DateTime!, $t: DateTime!) {
                availableSlots(stationId: $s, service: CONSULTATION, from: $f, to: $t) { startsAt providers { id } } }",
            json!({ "s": station, "f": "2026-10-01T00:00:00Z", "t": "2026-10-11T00:00:00Z" }),
            "availableSlots",
        )
        .await;
    let starts: Vec<&str> = slots
        .as_array()
        .expect("slots")
        .iter()
        .filter_map(|s| s["startsAt"].as_str())
        .collect();
    assert_eq!(
        starts
            .iter()
            .filter(|s| s.starts_with("2026-10-10"))
            .count(),
        6,
        "{starts:?}"
    );
    assert_eq!(
        starts
            .iter()
            .filter(|s| s.starts_with("2026-10-09"))
            .count(),
        7,
        "{starts:?}"
    );
    assert!(
        !starts.iter().any(|s| s.starts_with("2026-10-07")),
        "{starts:?}"
    );
}

#[tokio::test]
async fn exceptions_close_a_day_open_an_extra_one_and_send_a_provider_away() {
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
    let exception = "mutation($s: ID!, $i: RosterExceptionInput!) {
        addRosterException(stationId: $s, input: $i) { date closed sittings { startsAt extra providers { id } } } }";
    let staff = app.staff();
    // Lawyer 1 is away on 30 September: only lawyer 2 sits.
    let day = app
        .ok(&staff, exception, json!({ "s": station, "i": { "date": "2026-09-30", "kind": "PROVIDER_AWAY", "providerId": lawyer1 } }), "addRosterException")
        .await;
    assert_eq!(day["sittings"][0]["providers"], json!([{ "id": lawyer2 }]));
    // Closed on 14 October: nothing.
    let day = app
        .ok(&staff, exception, json!({ "s": station, "i": { "date": "2026-10-14", "kind": "CLOSED", "note": "停电" } }), "addRosterException")
        .await;
    assert_eq!(
        (day["closed"].clone(), day["sittings"].clone()),
        (json!(true), json!([]))
    );
    // An extra opening on National Day itself.
    let day = app
        .ok(&staff, exception, json!({ "s": station, "i": { "date": "2026-10-03", "kind": "EXTRA_OPENING",
            "opening": { "start": "10:00", "end": "11:00", "service": "MEDIATION", "providerIds": [lawyer2], "slotMinutes": 60 } } }), "addRosterException")
        .await;
    assert_eq!(day["sittings"][0]["extra"], true);
    assert_eq!(day["sittings"][0]["startsAt"], "2026-10-03T02:00:00+00:00");
    // Citizens may not add exceptions.
    let r = app
        .gql(
            Some(&app.citizen("c")),
            exception,
            json!({ "s": station, "i": { "date": "2026-10-15", "kind": "CLOSED" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
}

#[tokio::test]
async fn bad_rules_are_refused_with_their_code_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (station, notary, lawyer1, _) = app.park_station().await;
    app.rule(
        &station,
        "TUESDAY",
        "09:00",
        "12:00",
        "NOTARIZATION",
        &[&notary],
    )
    .await;
    let base = json!({ "weekday": "TUESDAY", "start": "13:00", "end": "15:00", "service": "CONSULTATION",
                       "providerIds": [lawyer1], "slotMinutes": 30 });
    let with = |k: &str, v: serde_json::Value| {
        let mut r = base.clone();
        r[k] = v;
        r
    };
    for (rule, code, word) in [
        (with("end", json!("12:00")), "BAD_USER_INPUT", "end"),
        (
            with("slotMinutes", json!(0)),
            "BAD_USER_INPUT",
            "slotMinutes",
        ),
        (with("start", json!("9 o'clock")), "BAD_USER_INPUT", "start"),
        // The notary already sits on Tuesday mornings.
        (
            json!({ "weekday": "TUESDAY", "start": "11:00", "end": "13:00", "service": "NOTARIZATION",
                    "providerIds": [notary], "slotMinutes": 30 }),
            "BAD_USER_INPUT",
            "already sits",
        ),
        (
            with("providerIds", json!([Uuid::new_v4()])),
            "NOT_FOUND",
            "provider",
        ),
        (
            with("service", json!("NOTARIZATION")),
            "BAD_USER_INPUT",
            "service",
        ),
    ] {
        let r = app.add_rule(&station, rule.clone()).await;
        assert_eq!(error_code(&r), Some(code), "{rule} → {r}");
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{message}");
    }
    // Overlapping rules for one provider, the second in a pool at the same time.
    app.rule(
        &station,
        "THURSDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1],
    )
    .await;
    let r = app
        .add_rule(
            &station,
            json!({ "weekday": "THURSDAY", "start": "11:30", "end": "13:00", "service": "MEDIATION",
                                     "providerIds": [lawyer1], "slotMinutes": 30 }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .add_rule(&Uuid::new_v4().to_string(), base.clone())
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let rules = app
        .ok(
            &app.staff(),
            "query($s: ID!) { rosterRules(stationId: $s) { edges { node { weekday start } } } }",
            json!({ "s": station }),
            "rosterRules",
        )
        .await;
    assert_eq!(
        rules["edges"].as_array().map(Vec::len),
        Some(2),
        "only the two good rules: {rules}"
    );
}

#[tokio::test]
async fn admins_maintain_the_holiday_calendar_and_staff_cannot() {
    let app = TestApp::spawn().await;
    let set = "mutation($i: CalendarDayInput!) { setCalendarDay(input: $i) { date holiday follows name } }";
    let r = app
        .gql(
            Some(&app.staff()),
            set,
            json!({ "i": { "date": "2027-02-13", "follows": "MONDAY", "name": "春节调休" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let day = app
        .ok(
            &app.admin(),
            set,
            json!({ "i": { "date": "2027-02-13", "follows": "MONDAY", "name": "春节调休" } }),
            "setCalendarDay",
        )
        .await;
    assert_eq!(day["follows"], "MONDAY");
    let r = app
        .gql(
            Some(&app.admin()),
            set,
            json!({ "i": { "date": "2027-02-14", "follows": "SUNDAY", "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // The seeded official days are there: 2026's National Day and its make-up Saturday.
    let days = app
        .ok(&app.citizen("c"), "query { holidayCalendar(from: \"2026-09-01\", to: \"2026-10-31\") { date holiday follows } }", json!({}), "holidayCalendar")
        .await;
    let days = days.as_array().expect("days");
    assert!(
        days.iter()
            .any(|d| d["date"] == "2026-10-10" && d["follows"] == "WEDNESDAY"),
        "{days:?}"
    );
    assert!(
        days.iter()
            .any(|d| d["date"] == "2026-10-01" && d["holiday"] == true),
        "{days:?}"
    );
}
