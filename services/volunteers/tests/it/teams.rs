//! Teams: creation in scope, membership and leaders, team totals, and rankings per team,
//! unit subtree and quarter on a small hand-checked set.

use serde_json::{Value, json};

use crate::ledger::{RECORD, credit, hours, register};
use crate::{TestApp, error_code, units};

const CREATE: &str = r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id name level unitPath parent { id } } }"#;
const ADD: &str = r#"mutation($t: ID!, $v: ID!, $l: Boolean) { addTeamMember(teamId: $t, volunteerId: $v, leader: $l) { id } }"#;
const REMOVE: &str =
    r#"mutation($t: ID!, $v: ID!) { removeTeamMember(teamId: $t, volunteerId: $v) { id } }"#;
const LEADER: &str = r#"mutation($t: ID!, $v: ID!, $l: Boolean) { setTeamLeader(teamId: $t, volunteerId: $v, leader: $l) { id } }"#;

fn team(name: &str, level: &str, unit: &str, parent: Option<&str>) -> Value {
    json!({ "input": { "name": name, "level": level, "unitId": units::id(unit).to_string(), "parentId": parent } })
}

#[tokio::test]
async fn teams_members_leaders_and_totals() {
    let app = TestApp::spawn().await;
    let changyuan = app.staff(units::CHANGYUAN);
    let hongqiao = app.staff(units::HONGQIAO);
    let fenggao = app.staff(units::FENGGAO);

    let r = app
        .graphql(
            Some(&changyuan),
            CREATE,
            team("昌元分队", "DETACHMENT", units::CHANGYUAN, None),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let detachment = r["data"]["createTeam"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .graphql(
            Some(&hongqiao),
            CREATE,
            team("虹桥小队", "SQUAD", units::HONGQIAO, Some(&detachment)),
        )
        .await;
    assert_eq!(
        r["data"]["createTeam"]["parent"]["id"],
        detachment.as_str(),
        "{r}"
    );
    assert_eq!(r["data"]["createTeam"]["unitPath"], units::HONGQIAO);
    let squad = r["data"]["createTeam"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Out of scope, unknown unit, same name twice, a parent below: refused.
    let r = app
        .graphql(
            Some(&fenggao),
            CREATE,
            team("x", "SQUAD", units::HONGQIAO, None),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(
            Some(&changyuan),
            CREATE,
            team("x", "SQUAD", "/rc/nowhere", None),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .graphql(
            Some(&hongqiao),
            CREATE,
            team(" 虹桥小队 ", "SQUAD", units::HONGQIAO, None),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .graphql(
            Some(&changyuan),
            CREATE,
            team("y", "BRIGADE", units::CHANGYUAN, Some(&squad)),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");

    let a = register(&app, None, 201, units::HONGQIAO).await;
    let b = register(&app, None, 202, units::HONGQIAO).await;
    let r = app
        .graphql(
            Some(&hongqiao),
            ADD,
            json!({ "t": squad, "v": a, "l": true }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app
        .graphql(Some(&hongqiao), ADD, json!({ "t": squad, "v": a }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .graphql(Some(&fenggao), ADD, json!({ "t": squad, "v": b }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    app.graphql(Some(&hongqiao), ADD, json!({ "t": squad, "v": b }))
        .await;
    // A volunteer may be in several teams.
    app.graphql(Some(&changyuan), ADD, json!({ "t": detachment, "v": a }))
        .await;
    let r = app
        .graphql(Some(&hongqiao), REMOVE, json!({ "t": squad, "v": b }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app
        .graphql(Some(&hongqiao), REMOVE, json!({ "t": squad, "v": b }))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    app.graphql(Some(&hongqiao), ADD, json!({ "t": squad, "v": b }))
        .await;
    let r = app
        .graphql(
            Some(&hongqiao),
            LEADER,
            json!({ "t": squad, "v": b, "l": true }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    app.graphql(
        Some(&hongqiao),
        LEADER,
        json!({ "t": squad, "v": a, "l": false }),
    )
    .await;

    // Hours: a 3 + 2 approved; b 4 approved and 1 pending.
    credit(&app, &changyuan, &a, 3.0, "2026-10-05").await;
    credit(&app, &changyuan, &a, 2.0, "2026-07-01").await;
    credit(&app, &changyuan, &b, 4.0, "2026-10-06").await;
    let r = app
        .graphql(Some(&changyuan), RECORD, hours(&b, 1.0, "2026-10-07"))
        .await;
    assert!(r["errors"].is_null(), "{r}");

    const TEAM: &str = r#"query($id: ID!) { team(id: $id) { name level hours { approved pending }
        members { edges { node { isLeader volunteer { id } } } } } }"#;
    // Members are listed for staff whose scope covers the team's unit.
    let t = app
        .graphql(Some(&changyuan), TEAM, json!({ "id": squad }))
        .await;
    let team = &t["data"]["team"];
    assert_eq!(team["level"], "SQUAD");
    assert_eq!(
        team["hours"],
        json!({ "approved": 9.0, "pending": 1.0 }),
        "{t}"
    );
    let members: Vec<(String, bool)> = team["members"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["volunteer"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
                e["node"]["isLeader"].as_bool().expect("leader"),
            )
        })
        .collect();
    let mut expected = vec![(a.clone(), false), (b.clone(), true)];
    expected.sort();
    assert_eq!(members, expected);

    const MINE: &str = r#"query($id: ID!) { volunteer(id: $id) { teams { edges { node { isLeader team { name } } } } } }"#;
    // A volunteer's teams are part of their record: null for anyone outside scope.
    let m = app.graphql(None, MINE, json!({ "id": a })).await;
    assert!(m["data"]["volunteer"]["teams"].is_null(), "{m}");
    let m = app
        .graphql(Some(&changyuan), MINE, json!({ "id": a }))
        .await;
    let mut names: Vec<&str> = m["data"]["volunteer"]["teams"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["team"]["name"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["昌元分队", "虹桥小队"], "{m}");

    const LIST: &str = r#"query($u: ID!, $l: TeamLevel) { teams(unitId: $u, level: $l) { edges { node { name } } } }"#;
    let all = app
        .graphql(
            None,
            LIST,
            json!({ "u": units::id(units::CHANGYUAN).to_string() }),
        )
        .await;
    assert_eq!(
        all["data"]["teams"]["edges"].as_array().expect("e").len(),
        2,
        "{all}"
    );
    let squads = app
        .graphql(
            None,
            LIST,
            json!({ "u": units::id(units::CHANGYUAN).to_string(), "l": "SQUAD" }),
        )
        .await;
    assert_eq!(
        squads["data"]["teams"]["edges"],
        json!([{ "node": { "name": "虹桥小队" } }])
    );

    // Federation: other subgraphs resolve Team references.
    let e = app
        .graphql(
            None,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Team { name } } }"#,
            json!({ "r": [{ "__typename": "Team", "id": squad }] }),
        )
        .await;
    assert_eq!(
        e["data"]["_entities"],
        json!([{ "name": "虹桥小队" }]),
        "{e}"
    );
    app.stop().await;
}

const RANK: &str = r#"query($s: RankingScope!, $id: ID!, $q: String, $by: RankingBy, $first: Int) {
  serviceRankings(scope: $s, id: $id, quarter: $q, by: $by, first: $first) {
    pageInfo { hasNextPage } edges { node { rank total volunteer { id } } } } }"#;

fn ranked(r: &Value) -> Vec<(String, f64)> {
    r["data"]["serviceRankings"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| {
            (
                e["node"]["volunteer"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
                e["node"]["total"].as_f64().expect("total"),
            )
        })
        .collect()
}

#[tokio::test]
async fn rankings_by_team_unit_and_quarter() {
    let app = TestApp::spawn().await;
    app.volunteers
        .remember_unit(units::id("/rc"), "/rc")
        .await
        .expect("unit");
    let changyuan = app.staff(units::CHANGYUAN);
    let fenggao = app.staff(units::FENGGAO);
    let center = app.staff("/rc");
    let a = register(&app, None, 301, units::HONGQIAO).await;
    let b = register(&app, None, 302, units::CHANGYUAN).await;
    let c = register(&app, Some(&center), 303, units::FENGGAO).await;
    let d = register(&app, None, 304, units::HONGQIAO).await;

    // Hand-checked set. Q4 2026: a 3, b 4, c 10, d 0. Q3 2026: a 2, d 1.
    credit(&app, &changyuan, &a, 3.0, "2026-10-05").await;
    credit(&app, &changyuan, &a, 2.0, "2026-07-01").await;
    credit(&app, &changyuan, &b, 4.0, "2026-10-06").await;
    credit(&app, &fenggao, &c, 10.0, "2026-11-01").await;
    credit(&app, &changyuan, &d, 1.0, "2026-09-30").await;
    // Pending and declined hours never rank.
    app.graphql(Some(&changyuan), RECORD, hours(&d, 8.0, "2026-10-10"))
        .await;

    let r = app
        .graphql(
            Some(&changyuan),
            CREATE,
            team("虹桥小队", "SQUAD", units::HONGQIAO, None),
        )
        .await;
    let squad = r["data"]["createTeam"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for v in [&a, &b] {
        app.graphql(Some(&changyuan), ADD, json!({ "t": squad, "v": v }))
            .await;
    }

    let team_q4 = app
        .graphql(
            Some(&changyuan),
            RANK,
            json!({ "s": "TEAM", "id": squad, "q": "2026Q4" }),
        )
        .await;
    assert_eq!(ranked(&team_q4), vec![(b.clone(), 4.0), (a.clone(), 3.0)]);
    let team_all = app
        .graphql(Some(&changyuan), RANK, json!({ "s": "TEAM", "id": squad }))
        .await;
    assert_eq!(ranked(&team_all), vec![(a.clone(), 5.0), (b.clone(), 4.0)]);

    let unit = |path: &str| units::id(path).to_string();
    let changyuan_all = app
        .graphql(
            Some(&changyuan),
            RANK,
            json!({ "s": "UNIT", "id": unit(units::CHANGYUAN) }),
        )
        .await;
    assert_eq!(
        ranked(&changyuan_all),
        vec![(a.clone(), 5.0), (b.clone(), 4.0), (d.clone(), 1.0)]
    );
    let q3 = app
        .graphql(
            Some(&changyuan),
            RANK,
            json!({ "s": "UNIT", "id": unit(units::CHANGYUAN), "q": "2026Q3" }),
        )
        .await;
    assert_eq!(ranked(&q3), vec![(a.clone(), 2.0), (d.clone(), 1.0)]);
    let district = app
        .graphql(
            Some(&center),
            RANK,
            json!({ "s": "UNIT", "id": unit("/rc"), "q": "2026Q4", "first": 2 }),
        )
        .await;
    assert_eq!(ranked(&district), vec![(c.clone(), 10.0), (b.clone(), 4.0)]);
    assert_eq!(
        district["data"]["serviceRankings"]["pageInfo"]["hasNextPage"],
        true
    );
    let points = app
        .graphql(
            Some(&center),
            RANK,
            json!({ "s": "UNIT", "id": unit("/rc"), "q": "2026Q4", "by": "POINTS" }),
        )
        .await;
    assert_eq!(
        ranked(&points),
        vec![(c.clone(), 100.0), (b.clone(), 40.0), (a.clone(), 30.0)]
    );

    // Scope and input.
    let r = app
        .graphql(Some(&fenggao), RANK, json!({ "s": "TEAM", "id": squad }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(
            Some(&changyuan),
            RANK,
            json!({ "s": "UNIT", "id": unit("/rc") }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(
            Some(&changyuan),
            RANK,
            json!({ "s": "TEAM", "id": squad, "q": "2026Q5" }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    app.stop().await;
}
