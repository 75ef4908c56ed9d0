//! A frontend's view: the reference GraphQL clients (`graphql-ws` over WebSocket,
//! `graphql-sse` over Server-Sent Events, from npm; tests/clients) subscribe to an order's
//! progress through the gateway. The first message is where the order stands; the next is
//! the move staff make after it.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tongxin_platform::auth::Role;
use tongxin_venues::demo::paths;

use crate::platform::{Platform, Subgraphs};

const CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/clients");

/// `npm ci` once, from the committed lock file.
async fn install_clients() {
    if std::path::Path::new(CLIENTS)
        .join("node_modules/graphql-ws")
        .exists()
        && std::path::Path::new(CLIENTS)
            .join("node_modules/graphql-sse")
            .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(CLIENTS)
        .status()
        .await
        .expect("npm on PATH");
    assert!(status.success(), "npm ci in tests/clients");
}

fn subscribe(transport: &str, url: &str, token: &str, query: &str, count: u32) -> Child {
    Command::new("node")
        .arg(format!("{CLIENTS}/subscribe.mjs"))
        .args([transport, url, token, query, &count.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node on PATH")
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a message within 20 s")
        .expect("read")
        .expect("the client ended early");
    serde_json::from_str(&line).expect("JSON")
}

#[tokio::test]
async fn the_reference_clients_follow_an_order_from_its_current_state() {
    install_clients().await;
    let platform = Platform::start(Subgraphs::OrderLoop).await;
    let citizen = platform.sign("wx-reference-client", &[Role::Citizen], None);
    let courtyard = platform.sign("staff-caijiaba", &[Role::Staff], Some(paths::CAIJIABA));
    for (n, transport) in ["ws", "sse"].into_iter().enumerate() {
        let placed = platform
            .graphql(
                Some(&citizen),
                "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
                json!({ "input": {
                    "category": "elder_visit",
                    "description": "独居老人需要探访",
                    "form": [{ "key": "people", "value": "1" }],
                    "location": { "lat": 29.3868, "lon": 105.5701 },
                    "contactPhone": "13812345678",
                    "photos": [],
                    "idempotencyKey": format!("reference-client-{n}"),
                }}),
            )
            .await;
        let id = placed["data"]["placeOrder"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{placed}"))
            .to_owned();
        let query = format!(
            "subscription {{ orderProgress(orderId: \"{id}\") {{ event state version }} }}"
        );
        let mut client = subscribe(transport, &platform.url(), &citizen, &query, 2);
        let mut lines = BufReader::new(client.stdout.take().expect("stdout")).lines();
        assert_eq!(
            next_line(&mut lines).await,
            json!({ "orderProgress": { "event": "placed", "state": "PLACED", "version": 1 } }),
            "{transport}: the current state first"
        );
        let r = platform
            .graphql(
                Some(&courtyard),
                "mutation($id: ID!) { receiveOrder(orderId: $id) { state } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(r["data"]["receiveOrder"]["state"], "RECEIVED", "{r}");
        assert_eq!(
            next_line(&mut lines).await,
            json!({ "orderProgress": { "event": "received", "state": "RECEIVED", "version": 2 } }),
            "{transport}: then the move"
        );
        let status = tokio::time::timeout(Duration::from_secs(10), client.wait())
            .await
            .expect("the client ends after its messages")
            .expect("wait");
        assert!(status.success(), "{transport}: {status}");
    }
    platform.stop().await;
}
