//! Live progress over the subgraph's WebSocket (fed from NATS), and the gRPC front door.

use std::time::Duration;

use serde_json::json;
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::grpc::request_as;
use tongxin_proto::orders as pb;
use tongxin_proto::orders::order_service_client::OrderServiceClient;
use tongxin_testing::ws::{Socket, next_json, subscribe};
use tongxin_venues::demo;

use crate::{ESCALATE, RECEIVE, TestApp, paths};

/// Subscribes on the orders subgraph and waits until the service's live hub holds the feed
/// (active on NATS from then on), so no event the test causes next can be missed.
async fn watch(app: &TestApp, token: &str, query: &str) -> Socket {
    let hub = app.orders.live().expect("the service runs live feeds");
    let before = hub.feeds();
    let socket = subscribe(&url(app), token, query).await;
    assert!(
        tongxin_testing::wait_until(
            Duration::from_secs(15),
            || async move { hub.feeds() > before }
        )
        .await,
        "the subscription started following its order or unit"
    );
    socket
}

/// What the orders service listens to on NATS for every live feed.
const ORDER_EVENTS: &str = "tongxin.orders.>";

fn url(app: &TestApp) -> String {
    format!("http://{}/graphql", app.http)
}

#[tokio::test]
async fn order_progress_and_unit_inbox_follow_the_events() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "live").await;
    let mut progress = watch(
        &app,
        &app.citizen("alice"),
        &format!("subscription {{ orderProgress(orderId: \"{id}\") {{ orderId event state holdingUnitPath actor }} }}"),
    )
    .await;
    let station = demo::unit_id(paths::HONGQIAO).0;
    let mut inbox = watch(
        &app,
        &app.staff(paths::HONGQIAO),
        &format!("subscription {{ unitInbox(unitId: \"{station}\") {{ orderId event state holdingLevel }} }}"),
    )
    .await;
    let courtyard = app.staff(paths::CAIJIABA);
    app.act(&courtyard, RECEIVE, &id, json!({})).await;
    // The placement may still be on its way from the outbox when the watch starts.
    let mut msg = next_json(&mut progress).await;
    if msg["payload"]["data"]["orderProgress"]["event"] == "placed" {
        msg = next_json(&mut progress).await;
    }
    assert_eq!(
        msg["payload"]["data"]["orderProgress"]["event"], "received",
        "{msg}"
    );
    assert_eq!(msg["payload"]["data"]["orderProgress"]["state"], "RECEIVED");
    app.act(&courtyard, ESCALATE, &id, json!({"reason": "上报"}))
        .await;
    let msg = next_json(&mut progress).await;
    assert_eq!(
        msg["payload"]["data"]["orderProgress"]["event"], "escalated",
        "{msg}"
    );
    assert_eq!(
        msg["payload"]["data"]["orderProgress"]["holdingUnitPath"],
        paths::HONGQIAO
    );
    let msg = next_json(&mut inbox).await;
    assert_eq!(msg["payload"]["data"]["unitInbox"]["orderId"], id, "{msg}");
    assert_eq!(
        msg["payload"]["data"]["unitInbox"]["holdingLevel"],
        "STATION"
    );

    // Someone else's order cannot be watched; a unit outside scope neither.
    let mut other = subscribe(
        &url(&app),
        &app.citizen("mallory"),
        &format!("subscription {{ orderProgress(orderId: \"{id}\") {{ event }} }}"),
    )
    .await;
    let msg = next_json(&mut other).await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{msg}"
    );
    let mut outside = subscribe(
        &url(&app),
        &app.staff(paths::CAIJIABA),
        &format!("subscription {{ unitInbox(unitId: \"{station}\") {{ event }} }}"),
    )
    .await;
    let msg = next_json(&mut outside).await;
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{msg}"
    );
    app.stop().await;
}

/// The first `orderProgress` item on `socket` after the placement (which may come first).
async fn next_move(socket: &mut Socket) -> serde_json::Value {
    loop {
        let msg = next_json(socket).await;
        let item = msg["payload"]["data"]["orderProgress"].clone();
        assert!(item.is_object(), "{msg}");
        if item["event"] != "placed" {
            return item;
        }
    }
}

#[tokio::test]
async fn many_watchers_share_one_watch_of_the_bus_and_each_sees_its_own_order() {
    let app = TestApp::spawn().await;
    let before = app.nats().subscriptions_on(ORDER_EVENTS).await;
    let citizens = ["w1", "w2", "w3"];
    let mut orders = Vec::new();
    for (n, citizen) in citizens.iter().enumerate() {
        orders.push(
            app.place_ok(citizen, "elder_visit", &format!("share{n}"))
                .await,
        );
    }
    let query = |id: &str| {
        format!("subscription {{ orderProgress(orderId: \"{id}\") {{ orderId event }} }}")
    };
    let mut watchers = Vec::new();
    for (citizen, id) in citizens.iter().zip(&orders) {
        watchers.push(watch(&app, &app.citizen(citizen), &query(id)).await);
    }
    // A second device of the first citizen, watching the same order.
    let second = watch(&app, &app.citizen(citizens[0]), &query(&orders[0])).await;
    let hub = app.orders.live().expect("live feeds");
    assert_eq!(hub.feeds(), 4);
    assert_eq!(
        app.nats().subscriptions_on(ORDER_EVENTS).await - before,
        1,
        "four watchers, one subscription on NATS"
    );

    // Moves in reverse order: each watcher's next item is its own order's.
    let courtyard = app.staff(paths::CAIJIABA);
    for id in orders.iter().rev() {
        app.act(&courtyard, RECEIVE, id, json!({})).await;
    }
    for (watcher, id) in watchers.iter_mut().zip(&orders) {
        let item = next_move(watcher).await;
        assert_eq!(
            (item["orderId"].as_str(), item["event"].as_str()),
            (Some(id.as_str()), Some("received"))
        );
    }

    // A client that goes away is forgotten by the hub.
    drop(second);
    assert!(
        tongxin_testing::wait_until(Duration::from_secs(15), || async move { hub.feeds() == 3 })
            .await,
        "the closed watcher's feed ended"
    );
    app.stop().await;
}

fn principal(subject: &str, roles: &[Role], path: Option<&str>) -> Principal {
    Principal {
        subject: subject.into(),
        roles: roles.to_vec(),
        unit: path.map(|p| demo::unit_id(p).0),
        district: Some("rc".into()),
        credential: None,
    }
}

#[tokio::test]
async fn grpc_reads_by_scope() {
    let app = TestApp::spawn().await;
    let a = app.place_ok("alice", "elder_visit", "g1").await;
    let b = app.place_ok("bob", "legal_consult", "g2").await;
    let mut client = OrderServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let staff = app.credential(&principal("s", &[Role::Staff], Some(paths::HONGQIAO)));
    let order = client
        .get_order(request_as(
            pb::GetOrderRequest { id: a.clone() },
            Some(&staff),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(order.holding_unit_path, paths::CAIJIABA);
    assert_eq!(
        order.phone, "13812345678",
        "the station's scope covers the courtyard"
    );
    let mallory = app.credential(&principal("mallory", &[Role::Citizen], None));
    let err = client
        .get_order(request_as(
            pb::GetOrderRequest { id: a.clone() },
            Some(&mallory),
        ))
        .await
        .expect_err("not hers");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let err = client
        .get_order(request_as(pb::GetOrderRequest { id: a.clone() }, None))
        .await
        .expect_err("anonymous");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let page = client
        .list_orders(request_as(
            pb::ListOrdersRequest {
                unit_id: demo::unit_id(paths::HONGQIAO).0.to_string(),
                page_size: 1,
                ..Default::default()
            },
            Some(&staff),
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.orders.len(), 1);
    assert_eq!(page.orders[0].id, b, "newest first");
    let rest = client
        .list_orders(request_as(
            pb::ListOrdersRequest {
                unit_id: demo::unit_id(paths::HONGQIAO).0.to_string(),
                page_size: 1,
                page_token: page.next_page_token.clone(),
                ..Default::default()
            },
            Some(&staff),
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(rest.orders[0].id, a);
    assert!(rest.next_page_token.is_empty());
    let err = client
        .list_orders(request_as(
            pb::ListOrdersRequest {
                unit_id: demo::unit_id(paths::HONGQIAO).0.to_string(),
                ..Default::default()
            },
            Some(&app.credential(&principal("s2", &[Role::Staff], Some(paths::FENGGAO)))),
        ))
        .await
        .expect_err("outside scope");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    app.stop().await;
}
