//! Live progress a client can rely on (issue 13, item 3): a move made right after a client
//! subscribes is never missed, nothing comes twice, and a client that reconnects with the
//! last position it saw gets exactly what it missed, also across a NATS restart.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tongxin_testing::ws::{Socket, subscribe};
use tongxin_venues::demo;

use crate::{ESCALATE, RECEIVE, TestApp, paths};

const FIELDS: &str = "orderId event state version arrival";

fn url(app: &TestApp) -> String {
    format!("http://{}/graphql", app.http)
}

fn progress_query(id: &str, after: Option<i64>) -> String {
    let after = after.map_or(String::new(), |v| format!(", afterVersion: {v}"));
    format!("subscription {{ orderProgress(orderId: \"{id}\"{after}) {{ {FIELDS} }} }}")
}

fn inbox_query(path: &str, after: Option<i64>) -> String {
    let unit = demo::unit_id(path).0;
    let after = after.map_or(String::new(), |v| format!(", after: {v}"));
    format!("subscription {{ unitInbox(unitId: \"{unit}\"{after}) {{ {FIELDS} }} }}")
}

/// The next data item of the subscription, or `None` if none comes within `wait` (a miss).
/// An error payload fails the test.
async fn next_item(socket: &mut Socket, field: &str, wait: Duration) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(wait, socket.next()).await.ok()??;
        let text = match frame.expect("frame") {
            tokio_tungstenite::tungstenite::Message::Text(text) => text,
            _ => continue,
        };
        let msg: Value = serde_json::from_str(&text).expect("json");
        match msg["type"].as_str() {
            Some("next") => {
                let data = &msg["payload"]["data"][field];
                assert!(data.is_object(), "{msg}");
                return Some(data.clone());
            }
            Some("ping" | "pong") => {}
            _ => panic!("unexpected message: {msg}"),
        }
    }
}

async fn progress_item(socket: &mut Socket) -> Option<Value> {
    next_item(socket, "orderProgress", Duration::from_secs(10)).await
}

async fn inbox_item(socket: &mut Socket) -> Option<Value> {
    next_item(socket, "unitInbox", Duration::from_secs(10)).await
}

/// The error code of the subscription's first answer.
async fn first_error(socket: &mut Socket) -> Value {
    let msg = tongxin_testing::ws::next_json(socket).await;
    msg["payload"]["errors"][0]["extensions"]["code"].clone()
}

/// One trial. Even trials: subscribe, and as soon as the current state (placed, version 1)
/// is there, receive the order: the next item must be that move (version 2). Odd trials:
/// subscribe and receive at once, without waiting for anything: what comes must be the
/// current state at subscription time (placed, or received if the move got in first), then
/// every later move once. Either way an escalation follows and must come next, as version 3.
/// `Err` says what was missed or wrong.
async fn trial(app: &TestApp, n: usize) -> Result<(), String> {
    let id = app
        .place_ok("alice", "elder_visit", &format!("trial-{n}"))
        .await;
    let courtyard = app.staff(paths::CAIJIABA);
    let mut socket = subscribe(&url(app), &app.citizen("alice"), &progress_query(&id, None)).await;
    let mut seen = Vec::new();
    if n.is_multiple_of(2) {
        match progress_item(&mut socket).await {
            Some(item) if item["version"] == 1 && item["event"] == "placed" => seen.push(1),
            Some(item) => return Err(format!("trial {n}: first came {item}, not placed v1")),
            None => return Err(format!("trial {n}: no current state")),
        }
    }
    let received = app.act(&courtyard, RECEIVE, &id, json!({})).await;
    assert_eq!(received["data"]["receiveOrder"]["version"], 2, "{received}");
    while seen.last() != Some(&2) {
        let Some(item) = progress_item(&mut socket).await else {
            return Err(format!(
                "trial {n}: versions {seen:?}, then nothing: missed"
            ));
        };
        seen.push(item["version"].as_i64().unwrap_or(-1));
        let expected = match seen.as_slice() {
            [1] => ("placed", "PLACED"),
            [2] | [1, 2] => ("received", "RECEIVED"),
            _ => return Err(format!("trial {n}: versions {seen:?}")),
        };
        if (item["event"].as_str(), item["state"].as_str()) != (Some(expected.0), Some(expected.1))
        {
            return Err(format!("trial {n}: {item} is not {expected:?}"));
        }
    }
    app.act(&courtyard, ESCALATE, &id, json!({"reason": "上报"}))
        .await;
    match progress_item(&mut socket).await {
        Some(item) if item["version"] == 3 && item["event"] == "escalated" => Ok(()),
        Some(item) => Err(format!("trial {n}: after version 2 came {item}")),
        None => Err(format!("trial {n}: the escalation was missed")),
    }
}

#[tokio::test]
async fn a_move_right_after_subscribing_is_never_missed() {
    let app = TestApp::spawn().await;
    // 100 trials, ten at a time, each with its own order.
    let failures: Vec<String> = futures::stream::iter(0..100)
        .map(|n| trial(&app, n))
        .buffer_unordered(10)
        .filter_map(|r| futures::future::ready(r.err()))
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of 100 trials: {failures:#?}",
        failures.len()
    );
    app.stop().await;
}

#[tokio::test]
async fn an_order_feed_resumes_after_the_last_version_seen() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "resume").await;
    let citizen = app.citizen("alice");
    let mut socket = subscribe(&url(&app), &citizen, &progress_query(&id, None)).await;
    let first = progress_item(&mut socket).await.expect("current state");
    assert_eq!(
        (first["event"].as_str(), first["version"].as_i64()),
        (Some("placed"), Some(1))
    );
    drop(socket);

    // Two moves while the client is away.
    let courtyard = app.staff(paths::CAIJIABA);
    app.act(&courtyard, RECEIVE, &id, json!({})).await;
    app.act(&courtyard, ESCALATE, &id, json!({"reason": "上报"}))
        .await;

    let mut socket = subscribe(&url(&app), &citizen, &progress_query(&id, Some(1))).await;
    let mut missed = Vec::new();
    for _ in 0..2 {
        let item = progress_item(&mut socket).await.expect("a missed move");
        missed.push((
            item["version"].as_i64(),
            item["event"].as_str().map(str::to_owned),
        ));
    }
    assert_eq!(
        missed,
        [
            (Some(2), Some("received".to_owned())),
            (Some(3), Some("escalated".to_owned()))
        ]
    );
    // Then live, and nothing twice.
    app.act(&app.staff(paths::HONGQIAO), RECEIVE, &id, json!({}))
        .await;
    let live = progress_item(&mut socket).await.expect("the live move");
    assert_eq!(
        (live["event"].as_str(), live["version"].as_i64()),
        (Some("received"), Some(4)),
        "{live}"
    );

    // A version the order has not reached is bad input.
    let mut ahead = subscribe(&url(&app), &citizen, &progress_query(&id, Some(9))).await;
    assert_eq!(first_error(&mut ahead).await, "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test]
async fn a_unit_inbox_misses_no_arrival_and_resumes_after_the_last_one_seen() {
    let app = TestApp::spawn().await;
    let courtyard = app.staff(paths::CAIJIABA);
    let station = app.staff(paths::HONGQIAO);
    // Waiting at 蔡家坝 before anyone watches: the snapshot.
    let waiting = app.place_ok("bob", "elder_visit", "waiting").await;
    let mut last = 0;
    for n in 0..20 {
        // Subscribe and place at once: the order comes once, as the snapshot or live.
        let mut socket =
            subscribe(&url(&app), &courtyard, &inbox_query(paths::CAIJIABA, None)).await;
        let id = app
            .place_ok("alice", "elder_visit", &format!("inbox-{n}"))
            .await;
        let mut got = Vec::new();
        while got.last().map(|(o, _)| o) != Some(&id) {
            let item = inbox_item(&mut socket)
                .await
                .unwrap_or_else(|| panic!("trial {n}: after {got:?} the new order was missed"));
            got.push((
                item["orderId"].as_str().unwrap_or_default().to_owned(),
                item["arrival"].as_i64().unwrap_or_default(),
            ));
        }
        // The snapshot is the order still waiting, then the new one.
        assert_eq!(got[0].0, waiting, "trial {n}: {got:?}");
        assert_eq!(got.len(), 2, "trial {n}: {got:?}");
        assert!(got[1].1 > last, "trial {n}: arrivals go up: {got:?}");
        last = got[1].1;
        // Received, it leaves the snapshot; the next arrival follows with the next place.
        app.act(&courtyard, RECEIVE, &id, json!({})).await;
        let next = app
            .place_ok("alice", "elder_visit", &format!("inbox-{n}-next"))
            .await;
        let item = inbox_item(&mut socket).await.expect("the next arrival");
        assert_eq!(item["orderId"], next.as_str(), "trial {n}: {item}");
        assert_eq!(item["arrival"], last + 1, "trial {n}: {item}");
        last += 1;
        app.act(&courtyard, RECEIVE, &next, json!({})).await;
    }

    // The station's console sees one escalation, goes away, two more come, it resumes.
    let mut orders = Vec::new();
    for n in 0..3 {
        orders.push(
            app.place_ok("carol", "elder_visit", &format!("up-{n}"))
                .await,
        );
    }
    let up = |id: String| {
        let courtyard = courtyard.clone();
        let app = &app;
        async move {
            app.act(&courtyard, RECEIVE, &id, json!({})).await;
            let r = app
                .act(&courtyard, ESCALATE, &id, json!({"reason": "上报"}))
                .await;
            assert_eq!(
                r["data"]["escalateOrder"]["holdingUnitPath"],
                paths::HONGQIAO,
                "{r}"
            );
        }
    };
    let mut console = subscribe(&url(&app), &station, &inbox_query(paths::HONGQIAO, None)).await;
    up(orders[0].clone()).await;
    let seen = inbox_item(&mut console)
        .await
        .expect("the first escalation");
    assert_eq!(seen["orderId"], orders[0].as_str());
    assert_eq!(seen["event"], "escalated");
    let cursor = seen["arrival"].as_i64().expect("arrival");
    drop(console);
    for id in &orders[1..] {
        up(id.clone()).await;
    }
    let mut console = subscribe(
        &url(&app),
        &station,
        &inbox_query(paths::HONGQIAO, Some(cursor)),
    )
    .await;
    for (n, id) in orders[1..].iter().enumerate() {
        let item = inbox_item(&mut console).await.expect("a missed arrival");
        assert_eq!(item["orderId"], id.as_str(), "{item}");
        assert_eq!(item["arrival"], cursor + 1 + n as i64, "{item}");
    }
    // Out of scope: FORBIDDEN; a place not reached yet: BAD_USER_INPUT.
    let mut outside = subscribe(
        &url(&app),
        &app.staff(paths::FENGGAO),
        &inbox_query(paths::HONGQIAO, None),
    )
    .await;
    assert_eq!(first_error(&mut outside).await, "FORBIDDEN");
    let mut ahead = subscribe(
        &url(&app),
        &station,
        &inbox_query(paths::HONGQIAO, Some(cursor + 99)),
    )
    .await;
    assert_eq!(first_error(&mut ahead).await, "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test]
async fn nothing_is_lost_across_a_nats_restart() {
    let mut app = TestApp::spawn().await;
    let mut nats = app.take_nats();
    let id = app.place_ok("alice", "elder_visit", "restart").await;
    let citizen = app.citizen("alice");
    let courtyard = app.staff(paths::CAIJIABA);
    let mut live = subscribe(&url(&app), &citizen, &progress_query(&id, None)).await;
    assert_eq!(
        progress_item(&mut live).await.expect("current")["version"],
        1
    );

    // NATS goes away; a move still commits (the outbox keeps its event).
    nats.kill();
    let received = app.act(&courtyard, RECEIVE, &id, json!({})).await;
    assert_eq!(received["data"]["receiveOrder"]["version"], 2, "{received}");
    // A client reconnecting with its cursor meanwhile gets the move from the database.
    let mut resumed = subscribe(&url(&app), &citizen, &progress_query(&id, Some(1))).await;
    let item = progress_item(&mut resumed)
        .await
        .expect("the move, from the timeline");
    assert_eq!(
        (item["event"].as_str(), item["version"].as_i64()),
        (Some("received"), Some(2))
    );

    nats.restart().await;
    // The subscription that stayed open gets the move once NATS is back (the reconnect
    // is a gap it fills, or the relay's late event), once.
    let wait = Duration::from_secs(30);
    let item = next_item(&mut live, "orderProgress", wait)
        .await
        .expect("the move after the restart");
    assert_eq!(item["version"], 2, "{item}");
    // And both go on live, with nothing twice.
    app.act(&courtyard, ESCALATE, &id, json!({"reason": "上报"}))
        .await;
    for socket in [&mut live, &mut resumed] {
        let item = self::next_item(socket, "orderProgress", wait)
            .await
            .expect("live again");
        assert_eq!(
            (item["event"].as_str(), item["version"].as_i64()),
            (Some("escalated"), Some(3)),
            "{item}"
        );
    }
    app.stop().await;
    drop(nats);
}

#[tokio::test]
async fn the_feeds_work_on_sqlite_with_the_in_process_bus() {
    let app = TestApp::spawn_embedded().await;
    let id = app.place_ok("alice", "elder_visit", "embedded").await;
    let citizen = app.citizen("alice");
    let courtyard = app.staff(paths::CAIJIABA);
    let mut socket = subscribe(&url(&app), &citizen, &progress_query(&id, None)).await;
    assert_eq!(
        progress_item(&mut socket).await.expect("current")["version"],
        1
    );
    let mut inbox = subscribe(&url(&app), &courtyard, &inbox_query(paths::CAIJIABA, None)).await;
    let waiting = inbox_item(&mut inbox).await.expect("the waiting order");
    assert_eq!(
        (waiting["orderId"].as_str(), waiting["arrival"].as_i64()),
        (Some(id.as_str()), Some(1))
    );
    app.act(&courtyard, RECEIVE, &id, json!({})).await;
    let item = progress_item(&mut socket).await.expect("the move");
    assert_eq!(
        (item["event"].as_str(), item["version"].as_i64()),
        (Some("received"), Some(2))
    );
    let next = app.place_ok("alice", "elder_visit", "embedded-2").await;
    let item = inbox_item(&mut inbox).await.expect("the next arrival");
    assert_eq!(
        (item["orderId"].as_str(), item["arrival"].as_i64()),
        (Some(next.as_str()), Some(2))
    );
    let mut resumed = subscribe(&url(&app), &citizen, &progress_query(&id, Some(0))).await;
    for (event, version) in [("placed", 1), ("received", 2)] {
        let item = progress_item(&mut resumed).await.expect("replayed");
        assert_eq!(
            (item["event"].as_str(), item["version"].as_i64()),
            (Some(event), Some(version))
        );
    }
    app.stop().await;
}
