//! Cases: an outcome that opens a matter opens its case; the status flow, its timeline and
//! events, the bad input, who sees what, and concurrent moves (exactly one wins).

use serde_json::json;
use tongxin_testing::error_code;

use super::*;

const LOG: &str = "mutation($id: ID!, $o: ConsultationOutcome!) { logConsultationOutcome(appointmentId: $id, outcome: $o) }";
const MOVE: &str = "mutation($id: ID!, $v: Int!) { moveLegalAidCase(id: $id, status: IN_PROGRESS, expectedVersion: $v) { status version } }";
const CLOSE: &str = "mutation($id: ID!, $r: LegalAidCaseResult!, $v: Int!) { closeLegalAidCase(id: $id, result: $r, expectedVersion: $v) { status result version closedAt } }";
const CASES: &str = "query($s: ID!) { legalAidCases(stationId: $s) { edges { node { id kind status result version appointmentId } } } }";

/// A station with one Wednesday lawyer and `n` checked-in visits on 2026-09-30 naming 张三
/// against 李四; their ids.
async fn checked_in_visits(app: &TestApp, n: usize) -> (String, Vec<String>) {
    checked_in_with(app, &vec![vec!["张三", "李四"]; n]).await
}

/// The same, each visit naming its own parties (the applicant's side first).
async fn checked_in_with(app: &TestApp, parties: &[Vec<&str>]) -> (String, Vec<String>) {
    let (station, _notary, lawyer1, _) = app.park_station().await;
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer1],
    )
    .await;
    let staff = app.staff();
    let mut ids = Vec::new();
    for (i, names) in parties.iter().enumerate() {
        let start = at("2026-09-30T01:00:00Z") + chrono::Duration::minutes(30 * i as i64);
        let r = app
            .book(
                &app.citizen(&format!("c{i}")),
                json!({ "stationId": station, "service": "CONSULTATION", "startsAt": start,
                        "topic": "邻里纠纷", "parties": names }),
            )
            .await;
        ids.push(
            r["data"]["bookAppointment"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    app.clock.set(at("2026-09-30T03:00:00Z"));
    for id in &ids {
        app.ok(
            &staff,
            "mutation($id: ID!) { checkIn(id: $id) { status } }",
            json!({ "id": id }),
            "checkIn",
        )
        .await;
    }
    (station, ids)
}

fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_mediation_opens_a_case_that_moves_and_closes_once_with_its_timeline_and_events() {
    let app = TestApp::spawn().await;
    let (station, ids) = checked_in_visits(&app, 2).await;
    let staff = app.staff();
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[0], "o": "MEDIATION_OPENED" }),
        "logConsultationOutcome",
    )
    .await;
    // An answered question opens no matter.
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[1], "o": "ANSWERED" }),
        "logConsultationOutcome",
    )
    .await;
    let cases = nodes(
        &app.ok(&staff, CASES, json!({ "s": station }), "legalAidCases")
            .await,
    );
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["kind"], "MEDIATION");
    assert_eq!(cases[0]["status"], "OPENED");
    assert_eq!(cases[0]["version"], 1);
    assert_eq!(cases[0]["appointmentId"], ids[0].as_str());
    let id = cases[0]["id"].as_str().expect("id").to_owned();

    // Bad input and wrong moves: clear codes, nothing changes.
    for (query, vars, code) in [
        (
            CLOSE,
            json!({ "id": id, "r": "COMPLETED", "v": 1 }),
            "BAD_USER_INPUT",
        ),
        (
            "mutation($id: ID!) { moveLegalAidCase(id: $id, status: CLOSED, expectedVersion: 1) { version } }",
            json!({ "id": id }),
            "BAD_USER_INPUT",
        ),
        (
            "mutation($id: ID!) { moveLegalAidCase(id: $id, status: OPENED, expectedVersion: 1) { version } }",
            json!({ "id": id }),
            "CONFLICT",
        ),
        (MOVE, json!({ "id": id, "v": 7 }), "CONFLICT"),
        (MOVE, json!({ "id": "not-an-id", "v": 1 }), "BAD_USER_INPUT"),
        (
            MOVE,
            json!({ "id": Uuid::now_v7().to_string(), "v": 1 }),
            "NOT_FOUND",
        ),
    ] {
        let r = app.gql(Some(&staff), query, vars).await;
        assert_eq!(error_code(&r), Some(code), "{query}: {r}");
    }
    // A citizen is told the case does not exist, and may not list the station's cases.
    let citizen = app.citizen("c0");
    let r = app
        .gql(
            Some(&citizen),
            "query($id: ID!) { legalAidCase(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let r = app
        .gql(Some(&citizen), CASES, json!({ "s": station }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .gql(Some(&citizen), MOVE, json!({ "id": id, "v": 1 }))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    let moved = app
        .ok(
            &staff,
            MOVE,
            json!({ "id": id, "v": 1 }),
            "moveLegalAidCase",
        )
        .await;
    assert_eq!(moved, json!({ "status": "IN_PROGRESS", "version": 2 }));
    let closed = app
        .ok(
            &staff,
            CLOSE,
            json!({ "id": id, "r": "AGREEMENT", "v": 2 }),
            "closeLegalAidCase",
        )
        .await;
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["result"], "AGREEMENT");
    assert_eq!(closed["version"], 3);
    assert_eq!(closed["closedAt"], "2026-09-30T03:00:00+00:00");
    // Closed is final.
    let r = app
        .gql(
            Some(&staff),
            CLOSE,
            json!({ "id": id, "r": "NO_AGREEMENT", "v": 3 }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let case = app
        .ok(&staff, "query($id: ID!) { legalAidCase(id: $id) { status result timeline { version status result actor } } }",
            json!({ "id": id }), "legalAidCase")
        .await;
    assert_eq!(
        case["timeline"],
        json!([
            { "version": 1, "status": "OPENED", "result": null, "actor": "park-staff" },
            { "version": 2, "status": "IN_PROGRESS", "result": null, "actor": "park-staff" },
            { "version": 3, "status": "CLOSED", "result": "AGREEMENT", "actor": "park-staff" },
        ]),
        "{case}"
    );
    let subjects = app.outbox_subjects().await;
    let case_events: Vec<&str> = subjects
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("tongxin.legalaid.case_"))
        .collect();
    assert_eq!(
        case_events,
        [
            "tongxin.legalaid.case_opened",
            "tongxin.legalaid.case_closed"
        ]
    );
}

#[tokio::test]
async fn of_concurrent_moves_on_one_case_exactly_one_wins() {
    const MOVERS: usize = 12;
    let app = TestApp::spawn().await;
    let (station, ids) = checked_in_visits(&app, 1).await;
    let staff = app.staff();
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[0], "o": "CASE_TAKEN" }),
        "logConsultationOutcome",
    )
    .await;
    let id = nodes(
        &app.ok(&staff, CASES, json!({ "s": station }), "legalAidCases")
            .await,
    )[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Half move it on, half close it, all from version 1 and all at once.
    let answers = futures::future::join_all((0..MOVERS).map(|i| {
        let (query, vars) = if i % 2 == 0 {
            (MOVE, json!({ "id": id, "v": 1 }))
        } else {
            (CLOSE, json!({ "id": id, "r": "WITHDRAWN", "v": 1 }))
        };
        let staff = staff.clone();
        let app = &app;
        async move { app.gql(Some(&staff), query, vars).await }
    }))
    .await;
    let won = answers.iter().filter(|r| r["errors"].is_null()).count();
    let lost = answers
        .iter()
        .filter(|r| error_code(r) == Some("CONFLICT"))
        .count();
    assert_eq!((won, lost), (1, MOVERS - 1), "{answers:?}");
    let case = app
        .ok(
            &staff,
            "query($id: ID!) { legalAidCase(id: $id) { version timeline { version } } }",
            json!({ "id": id }),
            "legalAidCase",
        )
        .await;
    assert_eq!(case["version"], 2);
    assert_eq!(
        case["timeline"],
        json!([{ "version": 1 }, { "version": 2 }])
    );
}

#[tokio::test]
async fn a_party_on_both_sides_of_open_matters_at_one_station_is_flagged_on_the_second() {
    let app = TestApp::spawn().await;
    let (station, ids) = checked_in_with(
        &app,
        &[
            vec!["张三", "李四"],
            // 李四 now applies against 张三 (spacing does not hide a party).
            vec!["李 四", "某电子公司", "张 三"],
            // 某电子公司 on the same (other) side as in the second: no conflict.
            vec!["孙七", "某电子公司"],
            // 李四 v 张三 would stand against the first matter, but it is closed by then.
            vec!["李四", "张三"],
        ],
    )
    .await;
    let staff = app.staff();
    let flags = "query($s: ID!) { legalAidCases(stationId: $s) { edges { node { appointmentId conflictFlagged conflictsWith } } } }";
    let case_of = |cases: &[Value], appointment: &str| -> Value {
        cases
            .iter()
            .find(|c| c["appointmentId"] == appointment)
            .cloned()
            .expect("case")
    };
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[0], "o": "MEDIATION_OPENED" }),
        "logConsultationOutcome",
    )
    .await;
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[1], "o": "CASE_TAKEN" }),
        "logConsultationOutcome",
    )
    .await;
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[2], "o": "NOTARIZATION_TAKEN" }),
        "logConsultationOutcome",
    )
    .await;
    let cases = nodes(
        &app.ok(&staff, flags, json!({ "s": station }), "legalAidCases")
            .await,
    );
    let first = nodes(
        &app.ok(&staff, CASES, json!({ "s": station }), "legalAidCases")
            .await,
    )
    .into_iter()
    .find(|c| c["appointmentId"] == ids[0].as_str())
    .expect("first");
    assert_eq!(
        case_of(&cases, &ids[0])["conflictFlagged"],
        false,
        "the first is not flagged"
    );
    assert_eq!(
        case_of(&cases, &ids[1])["conflictFlagged"],
        true,
        "{cases:?}"
    );
    assert_eq!(
        case_of(&cases, &ids[1])["conflictsWith"],
        json!([first["id"]])
    );
    assert_eq!(
        case_of(&cases, &ids[2])["conflictFlagged"],
        false,
        "same side: {cases:?}"
    );
    // Closed matters are not open: a later one against their party is not flagged for them.
    app.ok(
        &staff,
        CLOSE,
        json!({ "id": first["id"], "r": "NO_AGREEMENT", "v": 1 }),
        "closeLegalAidCase",
    )
    .await;
    app.ok(
        &staff,
        LOG,
        json!({ "id": ids[3], "o": "MEDIATION_OPENED" }),
        "logConsultationOutcome",
    )
    .await;
    let cases = nodes(
        &app.ok(&staff, flags, json!({ "s": station }), "legalAidCases")
            .await,
    );
    assert_eq!(
        case_of(&cases, &ids[3])["conflictFlagged"],
        false,
        "{cases:?}"
    );
}

#[tokio::test]
async fn counts_over_a_unit_subtree_add_cases_and_the_mediation_agreement_rate_on_a_hand_checked_set()
 {
    let app = TestApp::spawn().await;
    let (station, ids) = checked_in_visits(&app, 6).await;
    let staff = app.staff();
    for (id, outcome) in ids.iter().zip([
        "MEDIATION_OPENED",
        "MEDIATION_OPENED",
        "MEDIATION_OPENED",
        "CASE_TAKEN",
        "REFERRED",
        "ANSWERED",
    ]) {
        app.ok(
            &staff,
            LOG,
            json!({ "id": id, "o": outcome }),
            "logConsultationOutcome",
        )
        .await;
    }
    let cases = nodes(
        &app.ok(&staff, CASES, json!({ "s": station }), "legalAidCases")
            .await,
    );
    let case_of = |appointment: &str| {
        cases
            .iter()
            .find(|c| c["appointmentId"] == appointment)
            .expect("case")["id"]
            .clone()
    };
    // Mediation 1 agrees, 2 does not, 3 stays open; the legal-aid case is withdrawn (not a
    // mediation: it counts as a case, never in the agreement rate).
    for (appointment, result) in [
        (&ids[0], "AGREEMENT"),
        (&ids[1], "NO_AGREEMENT"),
        (&ids[3], "WITHDRAWN"),
    ] {
        app.ok(
            &staff,
            CLOSE,
            json!({ "id": case_of(appointment), "r": result, "v": 1 }),
            "closeLegalAidCase",
        )
        .await;
    }
    let query = "query($s: ID, $u: ID) { legalAidCounts(stationId: $s, unitId: $u, from: \"2026-09-01T00:00:00Z\", to: \"2026-10-01T00:00:00Z\") {
        group consultations referrals legalAidCases mediations cases mediationsDecided mediationAgreements mediationAgreementRate } }";
    let expected = json!([{ "group": "all", "consultations": 6, "referrals": 1, "legalAidCases": 1,
        "mediations": 3, "cases": 4, "mediationsDecided": 2, "mediationAgreements": 1,
        "mediationAgreementRate": 0.5 }]);
    let admin = app.admin();
    let by_station = app
        .ok(&staff, query, json!({ "s": station }), "legalAidCounts")
        .await;
    assert_eq!(by_station, expected);
    // The park's subtree holds the station; Hongqiao's holds none of it.
    let park = app
        .ok(
            &admin,
            query,
            json!({ "u": unit_id(units::PARK) }),
            "legalAidCounts",
        )
        .await;
    assert_eq!(park, expected);
    let hongqiao = app
        .ok(
            &admin,
            query,
            json!({ "u": unit_id(units::HONGQIAO) }),
            "legalAidCounts",
        )
        .await;
    assert_eq!(hongqiao, json!([]));
    // The same figures as CSV for the park's subtree, with the caller's scope and clear codes.
    let base = format!(
        "http://{}/legal-aid/counts.csv",
        app.spawned.service(tongxin_legal_aid::NAME).http_addr()
    );
    let csv = |query: String, token: Option<String>| {
        let url = format!("{base}?{query}");
        async move {
            let mut req = reqwest::Client::new().get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.expect("get");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    let period = "from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z";
    let (status, body) = csv(
        format!("unitId={}&{period}", unit_id(units::PARK)),
        Some(admin.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "group,from,to,consultations,referrals,legal_aid_cases,notarizations,mediations,health_checks,no_shows,no_show_rate,cases,mediations_decided,mediation_agreement_rate\n\
         all,2026-09-01T00:00:00+00:00,2026-10-01T00:00:00+00:00,6,1,1,0,3,0,0,0.00,4,2,0.50\n"
    );
    for (query, token, expected) in [
        (
            format!("unitId={}&{period}", unit_id(units::PARK)),
            None,
            401,
        ),
        (
            format!("unitId={}&{period}", unit_id(units::PARK)),
            Some(staff.clone()),
            403,
        ),
        (
            format!("unitId={}&{period}&groupBy=week", unit_id(units::PARK)),
            Some(admin.clone()),
            400,
        ),
        (format!("unitId=nope&{period}"), Some(admin.clone()), 400),
        (
            format!("stationId={station}&from=2026-09-01T00:00:00Z"),
            Some(staff.clone()),
            400,
        ),
    ] {
        let (status, body) = csv(query.clone(), token).await;
        assert_eq!(status, expected, "{query}: {body}");
    }
    // The station's staff do not cover the park; neither or both of the ids is bad input.
    for (token, vars, code) in [
        (&staff, json!({ "u": unit_id(units::PARK) }), "FORBIDDEN"),
        (&admin, json!({}), "BAD_USER_INPUT"),
        (
            &admin,
            json!({ "s": station, "u": unit_id(units::PARK) }),
            "BAD_USER_INPUT",
        ),
        (&admin, json!({ "u": Uuid::now_v7() }), "NOT_FOUND"),
    ] {
        let r = app.gql(Some(token), query, vars.clone()).await;
        assert_eq!(error_code(&r), Some(code), "{vars}: {r}");
    }
}
