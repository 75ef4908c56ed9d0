//! Moves: the whole loop with one event per move on NATS, escalation up to the center,
//! concurrent receives and accepts through GraphQL (one wins, the others CONFLICT), bad
//! moves, decline, subscriptions' source. Races forced onto one version are in `races`.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    ACCEPT, CANCEL, COMPLETE, DECLINE, DISPATCH, ESCALATE, RATE, RECEIVE, START, TestApp,
    error_code, paths,
};

fn state(r: &Value, field: &str) -> String {
    r["data"][field]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {r}"))
        .to_owned()
}

/// Drives an order at 蔡家坝 to `in_progress` with volunteer `v`.
async fn to_in_progress(app: &TestApp, id: &str, v: Uuid) {
    let staff = app.staff(paths::CAIJIABA);
    assert_eq!(
        state(
            &app.act(&staff, RECEIVE, id, json!({})).await,
            "receiveOrder"
        ),
        "RECEIVED"
    );
    let r = app
        .act(&staff, DISPATCH, id, json!({"volunteers": [v.to_string()]}))
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");
    let r = app.act(&app.volunteer(v), ACCEPT, id, json!({})).await;
    assert_eq!(state(&r, "acceptOrder"), "ACCEPTED");
    assert_eq!(
        r["data"]["acceptOrder"]["contactPhoneMasked"], false,
        "the accepted volunteer may call"
    );
    assert_eq!(
        state(
            &app.act(&app.volunteer(v), START, id, json!({})).await,
            "startOrder"
        ),
        "IN_PROGRESS"
    );
}

#[tokio::test]
async fn the_whole_loop_publishes_one_event_per_move() {
    let app = TestApp::spawn().await;
    let nats = app.nats().client().await;
    let mut events = nats.subscribe("tongxin.orders.>").await.expect("subscribe");
    let v = app.new_volunteer().await;
    let id = app.place_ok("alice", "elder_visit", "loop").await;
    to_in_progress(&app, &id, v).await;
    let r = app
        .act(
            &app.volunteer(v),
            COMPLETE,
            &id,
            json!({"hours": [{"volunteerId": v.to_string(), "hours": 1.75}]}),
        )
        .await;
    assert_eq!(state(&r, "completeOrder"), "COMPLETED");
    assert_eq!(r["data"]["completeOrder"]["hours"][0]["hours"], 1.75);
    let r = app
        .act(&app.citizen("alice"), RATE, &id, json!({"rating": 5}))
        .await;
    assert_eq!(state(&r, "rateOrder"), "RATED");

    let expected = [
        "placed",
        "received",
        "dispatched",
        "accepted",
        "started",
        "completed",
        "rated",
    ];
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let msg = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event in time")
            .expect("stream open");
        use prost::Message;
        let body = tongxin_proto::events::OrderChanged::decode(msg.payload.clone()).expect("body");
        assert_eq!(body.order_id, id);
        seen.push(msg.subject.to_string());
        if msg.subject.as_str() == "tongxin.orders.order_rated" {
            assert_eq!(body.rating, Some(5));
            assert_eq!(
                body.note, "",
                "the citizen's comment does not travel in events"
            );
        }
        if msg.subject.as_str() == "tongxin.orders.order_completed" {
            assert_eq!(body.hours.len(), 1);
            assert_eq!(body.hours[0].volunteer_id, v.to_string());
        }
    }
    let expected: Vec<String> = expected
        .iter()
        .map(|e| format!("tongxin.orders.order_{e}"))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(
        app.timeline_events(&id).await,
        vec![
            "placed",
            "received",
            "dispatched",
            "accepted",
            "started",
            "completed",
            "rated"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn escalation_climbs_each_level_and_stops_at_the_center() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "up").await;
    for (here, parent, level) in [
        (paths::CAIJIABA, paths::HONGQIAO, "STATION"),
        (paths::HONGQIAO, paths::CHANGYUAN, "INSTITUTE"),
        (paths::CHANGYUAN, paths::CENTER, "CENTER"),
    ] {
        let staff = app.staff(here);
        // 每级必接: the level receives before it passes the order up.
        let r = app
            .act(&staff, ESCALATE, &id, json!({"reason": "本级无法办理"}))
            .await;
        assert_eq!(
            error_code(&r),
            Some("CONFLICT"),
            "escalate before receive: {r}"
        );
        assert_eq!(
            state(
                &app.act(&staff, RECEIVE, &id, json!({})).await,
                "receiveOrder"
            ),
            "RECEIVED"
        );
        let r = app
            .act(&staff, ESCALATE, &id, json!({"reason": "本级无法办理"}))
            .await;
        assert_eq!(r["data"]["escalateOrder"]["holdingUnitPath"], parent, "{r}");
        assert_eq!(r["data"]["escalateOrder"]["holdingLevel"], level);
        assert_eq!(r["data"]["escalateOrder"]["state"], "ESCALATED");
        // The level below no longer acts on it.
        let r = app.act(&staff, RECEIVE, &id, json!({})).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    }
    let center = app.staff(paths::CENTER);
    assert_eq!(
        state(
            &app.act(&center, RECEIVE, &id, json!({})).await,
            "receiveOrder"
        ),
        "RECEIVED"
    );
    let r = app
        .act(&center, ESCALATE, &id, json!({"reason": "x"}))
        .await;
    assert_eq!(
        error_code(&r),
        Some("BAD_USER_INPUT"),
        "nothing above the center: {r}"
    );
    // A reason is required.
    let r = app
        .act(&center, ESCALATE, &id, json!({"reason": " "}))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_receives_and_accepts_have_one_winner() {
    let app = TestApp::spawn().await;
    // Two staff receive.
    let id = app.place_ok("alice", "elder_visit", "r1").await;
    let (courtyard, station) = (app.staff(paths::CAIJIABA), app.staff(paths::HONGQIAO));
    let (a, b) = tokio::join!(
        app.act(&courtyard, RECEIVE, &id, json!({})),
        app.act(&station, RECEIVE, &id, json!({})),
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(
        codes.contains(&None) && codes.contains(&Some("CONFLICT")),
        "{a} {b}"
    );
    let loser = if error_code(&a).is_some() { &a } else { &b };
    assert!(
        loser["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("received"),
        "the loser learns the current state: {loser}"
    );

    // Eight staff receive at once: one timeline row, seven CONFLICTs.
    let many = app.place_ok("carol", "elder_visit", "r8").await;
    let racers = (0..8).map(|i| {
        let token = if i % 2 == 0 {
            courtyard.clone()
        } else {
            station.clone()
        };
        let many = many.clone();
        let app = &app;
        async move { app.act(&token, RECEIVE, &many, json!({})).await }
    });
    let results = futures::future::join_all(racers).await;
    assert_eq!(
        results.iter().filter(|r| error_code(r).is_none()).count(),
        1
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| error_code(r) == Some("CONFLICT"))
            .count(),
        7
    );
    assert_eq!(app.timeline_events(&many).await, vec!["placed", "received"]);
    // The store's guard itself: a write on a stale version changes nothing.
    let row = tongxin_orders::store::orders::get(&app.db, many.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("row");
    let mut next = row.clone();
    next.version += 1;
    let guard = |n| tongxin_orders::store::orders::update_if_version(&app.db, n, row.version);
    assert!(guard(&next).await.expect("first write"));
    assert!(!guard(&next).await.expect("stale write"));

    // Two volunteers accept.
    let (v1, v2) = (app.new_volunteer().await, app.new_volunteer().await);
    let r = app
        .act(
            &courtyard,
            DISPATCH,
            &id,
            json!({"volunteers": [v1.to_string(), v2.to_string()]}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");
    let (t1, t2) = (app.volunteer(v1), app.volunteer(v2));
    let (a, b) = tokio::join!(
        app.act(&t1, ACCEPT, &id, json!({})),
        app.act(&t2, ACCEPT, &id, json!({})),
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(
        codes.contains(&None) && codes.contains(&Some("CONFLICT")),
        "{a} {b}"
    );
    let events = app.timeline_events(&id).await;
    assert_eq!(events.iter().filter(|e| *e == "accepted").count(), 1);
    assert_eq!(events.iter().filter(|e| *e == "received").count(), 1);
    // Races that only the version condition decides, forced to overlap: see `races`.

    app.stop().await;
}

#[tokio::test]
async fn bad_moves_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "bad").await;
    let alice = app.citizen("alice");
    let courtyard = app.staff(paths::CAIJIABA);
    let v = app.new_volunteer().await;
    // Skipped steps.
    let r = app.act(&courtyard, START, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("placed")
    );
    let r = app
        .act(
            &courtyard,
            DISPATCH,
            &id,
            json!({"volunteers": [v.to_string()]}),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app.act(&alice, RATE, &id, json!({"rating": 5})).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    // Out of scope: for staff elsewhere and other citizens the order does not exist.
    let r = app
        .act(&app.staff(paths::FENGGAO), RECEIVE, &id, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let r = app
        .act(&app.citizen("mallory"), CANCEL, &id, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let r = app.act(&alice, RECEIVE, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    // A volunteer it was never dispatched to does not see it.
    let r = app.act(&app.volunteer(v), ACCEPT, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let r = app
        .act(&alice, RECEIVE, &Uuid::now_v7().to_string(), json!({}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    assert_eq!(
        app.timeline_events(&id).await,
        vec!["placed"],
        "nothing changed"
    );

    // Ratings 0 and 6, and a second rating.
    to_in_progress(&app, &id, v).await;
    for hours in [0.0, 25.0, 1.1] {
        let r = app
            .act(
                &app.volunteer(v),
                COMPLETE,
                &id,
                json!({"hours": [{"volunteerId": v.to_string(), "hours": hours}]}),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{hours}: {r}");
    }
    let r = app
        .act(
            &app.volunteer(v),
            COMPLETE,
            &id,
            json!({"hours": [{"volunteerId": Uuid::now_v7().to_string(), "hours": 1}]}),
        )
        .await;
    assert_eq!(
        error_code(&r),
        Some("BAD_USER_INPUT"),
        "hours for a stranger: {r}"
    );
    let r = app
        .act(
            &app.volunteer(v),
            COMPLETE,
            &id,
            json!({"hours": [{"volunteerId": v.to_string(), "hours": 2}]}),
        )
        .await;
    assert_eq!(state(&r, "completeOrder"), "COMPLETED");
    for rating in [0, 6] {
        let r = app.act(&alice, RATE, &id, json!({"rating": rating})).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{rating}: {r}");
    }
    let r = app
        .act(&app.citizen("mallory"), RATE, &id, json!({"rating": 1}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    assert_eq!(
        state(
            &app.act(&alice, RATE, &id, json!({"rating": 3})).await,
            "rateOrder"
        ),
        "RATED"
    );
    let r = app.act(&alice, RATE, &id, json!({"rating": 5})).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "a second rating: {r}");
    let r = app.act(&alice, CANCEL, &id, json!({})).await;
    assert_eq!(
        error_code(&r),
        Some("CONFLICT"),
        "no cancel after acceptance: {r}"
    );
    let rated = tongxin_orders::store::orders::get(&app.db, id.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(rated.rating, Some(3));
    app.stop().await;
}

#[tokio::test]
async fn the_last_decline_returns_the_order_for_a_new_dispatch() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "decline").await;
    let staff = app.staff(paths::CAIJIABA);
    let (v1, v2) = (app.new_volunteer().await, app.new_volunteer().await);
    app.act(&staff, RECEIVE, &id, json!({})).await;
    app.act(
        &staff,
        DISPATCH,
        &id,
        json!({"volunteers": [v1.to_string(), v2.to_string()]}),
    )
    .await;
    let r = app
        .act(&app.volunteer(v1), DECLINE, &id, json!({"reason": ""}))
        .await;
    assert_eq!(
        error_code(&r),
        Some("BAD_USER_INPUT"),
        "a reason is required: {r}"
    );
    let r = app
        .act(
            &app.volunteer(v1),
            DECLINE,
            &id,
            json!({"reason": "生病了"}),
        )
        .await;
    assert_eq!(state(&r, "declineOrder"), "DISPATCHED");
    assert_eq!(
        r["data"]["declineOrder"]["dispatchedVolunteers"],
        json!([{"id": v2.to_string()}])
    );
    let r = app.act(&app.volunteer(v1), ACCEPT, &id, json!({})).await;
    assert_eq!(
        error_code(&r),
        Some("FORBIDDEN"),
        "who declined is off the order: {r}"
    );
    let r = app
        .act(&app.volunteer(v2), DECLINE, &id, json!({"reason": "没空"}))
        .await;
    assert_eq!(state(&r, "declineOrder"), "RECEIVED");
    let r = app
        .act(
            &staff,
            DISPATCH,
            &id,
            json!({"volunteers": [v1.to_string()]}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");
    // Suggestions from the volunteers service's matching leave out who declined.
    let v3 = app.new_volunteer().await;
    let r = app
        .graphql(
            Some(&staff),
            "query($id: ID!) { suggestCandidates(orderId: $id) { edges { node { volunteer { id } } } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        r["data"]["suggestCandidates"]["edges"],
        json!([{"node": {"volunteer": {"id": v3.to_string()}}}]),
        "{r}"
    );
    app.stop().await;
}

#[tokio::test]
async fn unit_orders_lists_within_scope_with_filters() {
    let app = TestApp::spawn().await;
    let a = app.place_ok("alice", "elder_visit", "l1").await;
    let b = app.place_ok("bob", "legal_consult", "l2").await;
    let q = "query($unit: ID!, $states: [OrderState!], $category: String) { unitOrders(unitId: $unit, states: $states, category: $category, first: 1) { edges { cursor node { id } } pageInfo { hasNextPage } } }";
    let unit = tongxin_venues::demo::unit_id(paths::HONGQIAO).0.to_string();
    let station = app.staff(paths::HONGQIAO);
    let r = app.graphql(Some(&station), q, json!({"unit": unit})).await;
    assert_eq!(
        r["data"]["unitOrders"]["edges"][0]["node"]["id"], b,
        "newest first: {r}"
    );
    assert_eq!(r["data"]["unitOrders"]["pageInfo"]["hasNextPage"], true);
    let r = app
        .graphql(
            Some(&station),
            q,
            json!({"unit": unit, "category": "elder_visit"}),
        )
        .await;
    assert_eq!(r["data"]["unitOrders"]["edges"][0]["node"]["id"], a, "{r}");
    let r = app
        .graphql(
            Some(&station),
            q,
            json!({"unit": unit, "states": ["RATED"]}),
        )
        .await;
    assert_eq!(r["data"]["unitOrders"]["edges"], json!([]));
    let r = app
        .graphql(Some(&app.staff(paths::CAIJIABA)), q, json!({"unit": unit}))
        .await;
    assert_eq!(
        error_code(&r),
        Some("FORBIDDEN"),
        "the station is above the courtyard: {r}"
    );
    let r = app
        .graphql(Some(&app.citizen("alice")), q, json!({"unit": unit}))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let mine = app
        .graphql(
            Some(&app.citizen("alice")),
            "{ myOrders { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["myOrders"]["edges"],
        json!([{"node": {"id": a}}])
    );
    app.stop().await;
}
