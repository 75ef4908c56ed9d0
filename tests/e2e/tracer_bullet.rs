//! The org-tree tracer bullet across the router.

use std::time::Duration;

use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_venues::demo::{self, paths};
use tongxin_venues::events::UNIT_CREATED;

use crate::platform::{Platform, Subgraphs, next_json, subscribe};

const CREATE: &str =
    r#"mutation($input: CreateOrgUnitInput!) { createOrgUnit(input: $input) { id path } }"#;

fn new_courtyard(code: &str) -> Value {
    json!({ "input": {
        "kind": "COURTYARD", "name": format!("端到端小院 {code}"), "code": code,
        "parentId": demo::unit_id(paths::HONGQIAO).to_string(),
        "location": { "lat": 29.391, "lon": 105.577 }
    }})
}

#[tokio::test]
async fn create_read_and_subscribe_through_the_router() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let token = platform.token(&[Role::Staff], paths::CHANGYUAN);

    // The router opens its own WebSocket to the venues subgraph after our subscribe, and a
    // unit created before that link is up is (correctly) not replayed: wait until the
    // subgraph's watch is on NATS, so the first unit created is the first pushed.
    let watching = platform.nats.subscriptions_on(UNIT_CREATED).await;
    let mut socket = subscribe(
        &platform.url(),
        &token,
        "subscription { orgUnitCreated { name path kind } }",
    )
    .await;
    let nats = &platform.nats;
    assert!(
        tongxin_testing::wait_until(Duration::from_secs(15), || async move {
            nats.subscriptions_on(UNIT_CREATED).await > watching
        })
        .await,
        "the venues subgraph watches {UNIT_CREATED} on NATS"
    );

    // Each unit created arrives, and it is the next thing that arrives: after the first,
    // the second one's arrival is the signal that nothing else (a repeat of the first, a
    // unit never created) came in between; no window of silence is waited out.
    let mut created_paths = Vec::new();
    for code in ["e2e-1", "e2e-2"] {
        let created = platform
            .graphql(Some(&token), CREATE, new_courtyard(code))
            .await;
        assert!(created["errors"].is_null(), "{created}");
        let path = created["data"]["createOrgUnit"]["path"]
            .as_str()
            .expect("path")
            .to_owned();
        assert_eq!(path, format!("/rc/changyuan/hongqiao/{code}"));
        let next = next_json(&mut socket).await;
        assert_eq!(next["type"], "next", "{next}");
        assert_eq!(
            next["payload"]["data"]["orgUnitCreated"],
            json!({
                "name": format!("端到端小院 {code}"),
                "path": path,
                "kind": "COURTYARD",
            }),
            "the unit just created is the next one pushed"
        );
        created_paths.push(path);
    }

    let read = platform
        .graphql(
            None,
            r#"query($id: ID!) { orgUnit(id: $id) { name children { edges { node { path } } } } }"#,
            json!({ "id": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    let paths_read: Vec<&str> = read["data"]["orgUnit"]["children"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["path"].as_str())
        .collect();
    for path in &created_paths {
        assert!(
            paths_read.contains(&path.as_str()),
            "{path} read back: {read}"
        );
    }
    drop(socket);
    platform.stop().await;
}

#[tokio::test]
async fn writes_without_or_with_a_bad_token_are_refused_through_the_router() {
    let platform = Platform::start(Subgraphs::Venues).await;

    let anonymous = platform
        .graphql(None, CREATE, new_courtyard("e2e-anon"))
        .await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );

    let forged = platform
        .graphql(
            Some("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            CREATE,
            new_courtyard("e2e-bad"),
        )
        .await;
    assert!(
        forged["data"].is_null() || forged["data"]["createOrgUnit"].is_null(),
        "{forged}"
    );
    // Refused at the gateway's door with the reason (issue 14), not downgraded to anonymous.
    assert_eq!(
        forged["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{forged}"
    );

    // Neither attempt stored anything.
    let read = platform
        .graphql(
            None,
            r#"query($id: ID!) { orgUnit(id: $id) { children { edges { node { code } } } } }"#,
            json!({ "id": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    let codes: Vec<&str> = read["data"]["orgUnit"]["children"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["caijiaba"], "{read}");
    platform.stop().await;
}
