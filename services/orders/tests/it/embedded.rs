//! The services on SQLite with the in-process bus, as `tongxin run` runs them: the whole
//! loop through the orders subgraph, and placing with venues down (→ the center) with the
//! scheduler's overdue alert, which claims rows without row locks there.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tongxin_orders::service::scheduler::Scheduler;
use tongxin_orders::service::{Move, NewOrder};
use tongxin_platform::events::outbox::entity as outbox;
use tongxin_venues::demo;

use crate::{
    ACCEPT, COMPLETE, DISPATCH, ESCALATE, RATE, RECEIVE, START, Store, TestApp, Venues, error_code,
    paths,
};

fn moved(r: &Value, field: &str) -> Value {
    assert_eq!(error_code(r), None, "{field}: {r}");
    r["data"][field].clone()
}

#[tokio::test]
async fn sqlite_and_the_memory_bus_run_the_whole_loop() {
    let app = TestApp::spawn_embedded().await;
    assert_eq!(app.store, Store::Sqlite);
    let mut events = app.bus.watch("tongxin.orders.>").await.expect("watch");
    let v = app.new_volunteer().await;
    let (courtyard, station) = (app.staff(paths::CAIJIABA), app.staff(paths::HONGQIAO));
    let volunteer = app.volunteer(v);

    // Placed through venues routing (on SQLite too): held by 蔡家坝.
    let id = app.place_ok("alice", "elder_visit", "embedded-loop").await;
    let r = app
        .graphql(Some(&app.citizen("alice")), crate::ORDER, json!({"id": id}))
        .await;
    assert_eq!(r["data"]["order"]["state"], "PLACED", "{r}");
    assert_eq!(r["data"]["order"]["holdingUnitPath"], paths::CAIJIABA);

    let r = moved(
        &app.act(&courtyard, RECEIVE, &id, json!({})).await,
        "receiveOrder",
    );
    assert_eq!(
        (&r["state"], &r["holdingUnitPath"]),
        (&json!("RECEIVED"), &json!(paths::CAIJIABA))
    );
    let r = moved(
        &app.act(&courtyard, ESCALATE, &id, json!({"reason": "本级无法办理"}))
            .await,
        "escalateOrder",
    );
    assert_eq!(
        (&r["state"], &r["holdingUnitPath"], &r["holdingLevel"]),
        (
            &json!("ESCALATED"),
            &json!(paths::HONGQIAO),
            &json!("STATION")
        )
    );
    let r = moved(
        &app.act(&station, RECEIVE, &id, json!({})).await,
        "receiveOrder",
    );
    assert_eq!(
        (&r["state"], &r["holdingUnitPath"]),
        (&json!("RECEIVED"), &json!(paths::HONGQIAO))
    );
    let r = moved(
        &app.act(
            &station,
            DISPATCH,
            &id,
            json!({"volunteers": [v.to_string()]}),
        )
        .await,
        "dispatchOrder",
    );
    assert_eq!(r["state"], "DISPATCHED");
    assert_eq!(r["dispatchedVolunteers"], json!([{"id": v.to_string()}]));
    let r = moved(
        &app.act(&volunteer, ACCEPT, &id, json!({})).await,
        "acceptOrder",
    );
    assert_eq!(r["state"], "ACCEPTED");
    assert_eq!(r["acceptedVolunteers"], json!([{"id": v.to_string()}]));
    assert_eq!(
        r["contactPhoneMasked"], false,
        "the accepted volunteer may call"
    );
    let r = moved(
        &app.act(&volunteer, START, &id, json!({})).await,
        "startOrder",
    );
    assert_eq!(r["state"], "IN_PROGRESS");
    let r = moved(
        &app.act(
            &volunteer,
            COMPLETE,
            &id,
            json!({"hours": [{"volunteerId": v.to_string(), "hours": 2.5}]}),
        )
        .await,
        "completeOrder",
    );
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(
        r["hours"],
        json!([{"volunteer": {"id": v.to_string()}, "hours": 2.5}])
    );
    let r = moved(
        &app.act(&app.citizen("alice"), RATE, &id, json!({"rating": 5}))
            .await,
        "rateOrder",
    );
    assert_eq!((&r["state"], &r["rating"]), (&json!("RATED"), &json!(5)));

    let expected = [
        "placed",
        "received",
        "escalated",
        "received",
        "dispatched",
        "accepted",
        "started",
        "completed",
        "rated",
    ];
    assert_eq!(app.timeline_events(&id).await, expected);
    // One event per move through the relay onto the in-process bus, in order.
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap_or_else(|_| panic!("only {seen:?} arrived"))
            .expect("bus open");
        let body =
            tongxin_proto::events::OrderChanged::decode(event.payload.clone()).expect("body");
        assert_eq!(body.order_id, id);
        if event.subject == "tongxin.orders.order_completed" {
            assert_eq!(body.hours.len(), 1);
            assert_eq!(
                (body.hours[0].volunteer_id.as_str(), body.hours[0].hours),
                (v.to_string().as_str(), 2.5)
            );
        }
        seen.push(event.subject);
    }
    let expected: Vec<String> = expected
        .iter()
        .map(|e| format!("tongxin.orders.order_{e}"))
        .collect();
    assert_eq!(seen, expected);
    // Each was written once and is marked published.
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Subject.starts_with("tongxin.orders."))
        .order_by_asc(outbox::Column::Seq)
        .all(&app.db)
        .await
        .expect("outbox");
    assert_eq!(
        rows.iter().map(|r| r.subject.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(rows.iter().all(|r| r.published_at.is_some()), "{rows:?}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_with_venues_down_routes_to_the_center_and_alerts_once() {
    let app = TestApp::spawn_on(Store::Sqlite, Venues::Down).await;
    let orders = &app.orders;
    // Venues is down: the center's staff get their scope from what orders already knows.
    orders
        .remember_unit(
            demo::unit_id(paths::CENTER).0,
            paths::CENTER,
            tongxin_orders::domain::Level::Center,
        )
        .await
        .expect("unit");
    let citizen = app.caller(&app.citizen_principal("alice")).await;
    let placed = orders
        .place(
            &citizen,
            NewOrder {
                category: "elder_visit".into(),
                description: "x".into(),
                form: [("people".to_owned(), "1".to_owned())].into(),
                lat: 29.40,
                lon: 105.59,
                phone: "13812345678".into(),
                idempotency_key: "k".into(),
                ..Default::default()
            },
        )
        .await
        .expect("placed");
    assert_eq!(placed.order.holding_unit().path, "/rc");
    let staff = app.caller(&app.staff_principal(paths::CENTER)).await;
    let id = placed.order.id;
    // Overdue at the center: one alert and one reminder, then nothing more, on SQLite
    // without row locks.
    let scheduler = Scheduler::new(orders.clone(), Duration::from_millis(10), 10);
    let late = chrono::Utc::now() + chrono::Duration::days(2);
    let once = tongxin_orders::service::scheduler::Round {
        escalated: 0,
        alerted: 1,
        reminded: 1,
    };
    assert_eq!(scheduler.round(late).await.expect("round"), once);
    assert_eq!(
        scheduler.round(late).await.expect("round"),
        tongxin_orders::service::scheduler::Round::default()
    );
    let moved = orders
        .make_move(
            &staff,
            id,
            Move::Receive {
                note: String::new(),
            },
        )
        .await
        .expect("receive");
    assert_eq!(
        moved.order.state,
        tongxin_orders::domain::OrderState::Received
    );
    assert_eq!(
        app.timeline_events(&id.0.to_string()).await,
        ["placed", "overdue_alert", "reminder", "received"]
    );
    app.stop().await;
}

/// The legal flow as `tongxin run` runs it (SQLite files, the in-process bus), through the
/// orders and legal-aid subgraphs: placed → dispatched to a station → its consultation
/// request → booked → accepted, a slot given up and booked again, checked in → in progress,
/// the outcome logged → completed.
#[tokio::test]
async fn sqlite_and_the_memory_bus_run_a_legal_order_through_the_station() {
    let app = TestApp::spawn_with_legal_aid_at(
        Store::Sqlite,
        crate::legal::at(crate::legal::MONDAY_MORNING),
    )
    .await;
    assert_eq!(app.store, Store::Sqlite);
    crate::legal::a_slot_given_up_then_the_whole_visit(&app).await;
    app.stop().await;
}
