//! The org tree through the subgraph's GraphQL endpoint.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use serde_json::json;
use tongxin_platform::auth::Role;
use tongxin_venues::demo::{self, paths};

use super::{TestApp, error_code};

const CREATE: &str = r#"mutation($input: CreateOrgUnitInput!) {
  createOrgUnit(input: $input) { id kind name code path district parent { id path } location { lat lon } }
}"#;

fn courtyard_input(code: &str, name: &str, parent: &str, lat: f64) -> serde_json::Value {
    json!({ "input": {
        "kind": "COURTYARD", "name": name, "code": code,
        "parentId": demo::unit_id(parent).to_string(),
        "location": { "lat": lat, "lon": 105.57 }
    }})
}

#[tokio::test]
async fn staff_creates_a_courtyard_reads_it_back_and_the_event_is_published() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.venues.unit_created")
        .await
        .expect("subscribe");
    let token = app.token(&[Role::Staff], Some(paths::CHANGYUAN));

    let created = app
        .graphql(
            Some(&token),
            CREATE,
            courtyard_input("xinyuan", "新院小院", paths::HONGQIAO, 29.39),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    let unit = &created["data"]["createOrgUnit"];
    assert_eq!(unit["path"], "/rc/changyuan/hongqiao/xinyuan");
    assert_eq!(unit["kind"], "COURTYARD");
    assert_eq!(unit["district"], "rc");
    assert_eq!(unit["parent"]["path"], paths::HONGQIAO);

    let read = app
        .graphql(
            None,
            r#"query($id: ID!) { orgUnit(id: $id) { name children(first: 10) { edges { node { name path } } pageInfo { hasNextPage } } } }"#,
            json!({ "id": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    let children: Vec<&str> = read["data"]["orgUnit"]["children"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["path"].as_str())
        .collect();
    assert_eq!(
        children,
        vec![
            "/rc/changyuan/hongqiao/caijiaba",
            "/rc/changyuan/hongqiao/xinyuan"
        ]
    );

    let message = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("event in time")
        .expect("event");
    let event = tongxin_proto::events::UnitCreated::decode(message.payload).expect("protobuf body");
    assert_eq!(
        event.unit.expect("unit").path,
        "/rc/changyuan/hongqiao/xinyuan"
    );
    assert_eq!(event.actor, "tester");
    let headers = message.headers.expect("headers");
    assert_eq!(
        headers.get("ce-type").map(|v| v.as_str()),
        Some("tongxin.venues.unit_created")
    );
    assert!(headers.get("Nats-Msg-Id").is_some());
    app.stop().await;
}

#[tokio::test]
async fn children_paginate_with_cursors() {
    let app = TestApp::spawn().await;
    let query = r#"query($id: ID!, $after: String) { orgUnit(id: $id) { children(first: 2, after: $after) {
        edges { cursor node { code } } pageInfo { hasNextPage endCursor } } } }"#;
    let query = query.replace("first: 2", "first: 1");
    let query = query.as_str();
    let id = demo::unit_id(paths::CHANGYUAN).to_string();
    let first = app.graphql(None, query, json!({ "id": id })).await;
    let page = &first["data"]["orgUnit"]["children"];
    let codes: Vec<&str> = page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["hongqiao"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);

    let second = app
        .graphql(
            None,
            query,
            json!({ "id": id, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let page = &second["data"]["orgUnit"]["children"];
    let codes: Vec<&str> = page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["huangjinpo"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    let bad = app
        .graphql(None, query, json!({ "id": id, "after": "garbage" }))
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
    app.stop().await;
}

#[tokio::test]
async fn entities_resolve_references_in_one_batch() {
    let app = TestApp::spawn().await;
    let wanted = [
        paths::CENTER,
        paths::YEHEWAN,
        paths::CHANGYUAN,
        paths::HONGQIAO,
        paths::CAIJIABA,
    ];
    let reps: Vec<_> = wanted
        .iter()
        .map(|p| json!({ "__typename": "OrgUnit", "id": demo::unit_id(p).to_string() }))
        .collect();
    // The router sends one `_entities` call per subgraph; five references must cost one
    // load of the unit table, not five (nothing else loads units while this test runs).
    let before = app.venues.unit_loader_batches();
    let response = app
        .graphql(
            None,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on OrgUnit { name path } } }"#,
            json!({ "r": reps }),
        )
        .await;
    assert!(response["errors"].is_null(), "{response}");
    let got: Vec<&str> = response["data"]["_entities"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|u| u["path"].as_str().expect("path"))
        .collect();
    assert_eq!(got, wanted, "each reference resolved, in order");
    assert_eq!(response["data"]["_entities"][1]["name"], "夜合湾小院");
    assert_eq!(
        app.venues.unit_loader_batches() - before,
        1,
        "one batch for five references"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let (units, outbox) = (app.unit_count().await, app.outbox_count().await);

    let unknown_parent = json!({ "input": {
        "kind": "COURTYARD", "name": "孤院", "code": "orphan",
        "parentId": uuid::Uuid::new_v4().to_string(), "location": { "lat": 29.4, "lon": 105.6 }
    }});
    let huge_name = "院".repeat(350_000); // ~1 MB of UTF-8
    let cases = [
        ("unknown parent", unknown_parent, "NOT_FOUND"),
        (
            "empty name",
            courtyard_input("empty", "   ", paths::HONGQIAO, 29.39),
            "BAD_USER_INPUT",
        ),
        (
            "latitude out of range",
            courtyard_input("north", "北院", paths::HONGQIAO, 91.0),
            "BAD_USER_INPUT",
        ),
        (
            "1 MB name",
            courtyard_input("big", &huge_name, paths::HONGQIAO, 29.39),
            "BAD_USER_INPUT",
        ),
        (
            "courtyard under the center",
            courtyard_input("skip", "跳级小院", paths::CENTER, 29.39),
            "BAD_USER_INPUT",
        ),
        (
            "code with a slash",
            courtyard_input("a/b", "斜杠", paths::HONGQIAO, 29.39),
            "BAD_USER_INPUT",
        ),
        (
            "path already taken",
            courtyard_input("caijiaba", "重复", paths::HONGQIAO, 29.39),
            "CONFLICT",
        ),
        (
            "not a UUID",
            json!({ "input": { "kind": "STATION", "name": "x", "code": "x", "parentId": "nope",
            "location": { "lat": 29.4, "lon": 105.6 } } }),
            "BAD_USER_INPUT",
        ),
    ];
    for (what, variables, code) in cases {
        let response = app.graphql(Some(&token), CREATE, variables).await;
        assert_eq!(error_code(&response), Some(code), "{what}: {response}");
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.len() < 300,
            "{what}: the error must not echo the input"
        );
    }
    assert_eq!(app.unit_count().await, units, "nothing stored");
    assert_eq!(app.outbox_count().await, outbox, "no event written");
    app.stop().await;
}

#[tokio::test]
async fn writes_need_a_valid_token_in_scope() {
    let app = TestApp::spawn().await;
    let units = app.unit_count().await;
    let input = courtyard_input("xinyuan", "新院小院", paths::HONGQIAO, 29.39);

    let anonymous = app.graphql(None, CREATE, input.clone()).await;
    assert_eq!(
        error_code(&anonymous),
        Some("UNAUTHENTICATED"),
        "{anonymous}"
    );

    let forged = app
        .graphql(Some("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"), CREATE, input.clone())
        .await;
    assert_eq!(error_code(&forged), Some("UNAUTHENTICATED"), "{forged}");

    let citizen = app.token(&[Role::Citizen], Some(paths::CAIJIABA));
    let response = app.graphql(Some(&citizen), CREATE, input.clone()).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");

    let other_street = app.token(&[Role::Staff], Some("/rc/fenggao"));
    let response = app.graphql(Some(&other_street), CREATE, input).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");

    assert_eq!(app.unit_count().await, units);
    app.stop().await;
}

#[tokio::test]
async fn unknown_fields_and_ids_get_codes() {
    let app = TestApp::spawn().await;
    let response = app
        .graphql(None, "{ orgUnit(id: \"x\") { nope } }", json!({}))
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    let response = app
        .graphql(None, "{ orgUnit(id: \"not-a-uuid\") { name } }", json!({}))
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
    let response = app
        .graphql(
            None,
            "query($id: ID!) { orgUnit(id: $id) { name } }",
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert!(
        response["data"]["orgUnit"].is_null() && response["errors"].is_null(),
        "{response}"
    );
    app.stop().await;
}

/// One page-size rule for every list of the subgraph: a page above the field's limit is
/// BAD_USER_INPUT naming the argument and the limit (never silently cut); at the limit it
/// is served.
#[tokio::test]
async fn every_list_refuses_a_page_above_its_limit_naming_it() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let center = demo::unit_id(paths::CENTER).to_string();
    let lists = [
        (
            "query($n: Int, $u: ID!) { orgUnit(id: $u) { children(first: $n) { nodes { id } } } }",
            1000,
        ),
        (
            "query($n: Int, $u: ID!) { orgUnit(id: $u) { subtree(first: $n) { nodes { id } } } }",
            1000,
        ),
        (
            "query($n: Int) { venues(first: $n) { nodes { id } } }",
            1000,
        ),
        (
            "query($n: Int) { activities(first: $n) { nodes { id } } }",
            1000,
        ),
        (
            "query($n: Int) { upcomingActivitiesNear(lat: 29.4, lon: 105.59, first: $n) { distanceM } }",
            100,
        ),
    ];
    for (query, limit) in lists {
        let vars = |n: u32| json!({"n": n, "u": center});
        let over = app.graphql(Some(&token), query, vars(limit + 1)).await;
        assert_eq!(error_code(&over), Some("BAD_USER_INPUT"), "{query}: {over}");
        let message = over["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("first: at most {limit} per page")),
            "{query}: {message}"
        );
        let at = app.graphql(Some(&token), query, vars(limit)).await;
        assert!(at["errors"].is_null(), "{query}: {at}");
    }
    app.stop().await;
}
