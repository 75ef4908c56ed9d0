//! One page-size rule for every list of the subgraph: a page above the field's limit is
//! BAD_USER_INPUT naming the argument and the limit (never silently cut); at the limit it
//! is served.

use serde_json::json;

use crate::vsupport::{SAT_END, SAT_START, register};
use crate::{TestApp, error_code, units};

#[tokio::test]
async fn every_list_refuses_a_page_above_its_limit_naming_it() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let volunteer = register(&app, 1, (29.40, 105.59), &["legal"], "").await;
    let r = app
        .graphql(
            Some(&staff),
            r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"#,
            json!({"input": {"name": "昌元分队", "level": "DETACHMENT", "unitId": units::id(units::CHANGYUAN).to_string()}}),
        )
        .await;
    let team = r["data"]["createTeam"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let unit = units::id(units::CHANGYUAN).to_string();
    let lists = [
        (
            "query($n: Int) { volunteers(first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int) { deletionRequests(first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int, $u: ID!) { teams(unitId: $u, first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int, $t: ID!) { team(id: $t) { members(first: $n) { nodes { joinedAt } } } }",
            500,
        ),
        (
            "query($n: Int, $v: ID) { hoursEntries(volunteerId: $v, first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int, $v: ID!) { pointsEntries(volunteerId: $v, first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int, $u: ID!) { serviceRankings(scope: UNIT, id: $u, first: $n) { nodes { rank } } }",
            500,
        ),
        (
            "query($n: Int, $v: ID!) { accountLinks(volunteerId: $v, first: $n) { nodes { id } } }",
            500,
        ),
        (
            "query($n: Int!, $s: String!, $e: String!) { matchCandidates(location: {lat: 29.4, lon: 105.59}, windowStart: $s, windowEnd: $e, first: $n) { nodes { score } } }",
            100,
        ),
    ];
    for (query, limit) in lists {
        let vars = |n: u32| json!({"n": n, "u": unit, "t": team, "v": volunteer, "s": SAT_START, "e": SAT_END});
        let over = app.graphql(Some(&staff), query, vars(limit + 1)).await;
        assert_eq!(error_code(&over), Some("BAD_USER_INPUT"), "{query}: {over}");
        let message = over["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("first: at most {limit} per page")),
            "{query}: {message}"
        );
        let at = app.graphql(Some(&staff), query, vars(limit)).await;
        assert!(at["errors"].is_null(), "{query}: {at}");
    }
    app.stop().await;
}
