//! Rules through the orders subgraph that the state machine's unit tests cannot show on
//! their own: staff accepting for a team and the completion naming the team, cancelling from
//! every state, a moved unit taking its staff's scope along, a failing database answered
//! as INTERNAL without its cause, and a stored order that does not parse answered as
//! INTERNAL and logged with its id (never silently read as a default).
//!
//! The first two do not depend on the store and run on SQLite with the in-process bus
//! (seconds cheaper than three PostgreSQL databases); the unit move (the venues event over
//! NATS into orders' consumer) and the database failure run on PostgreSQL.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tongxin_venues::demo;
use uuid::Uuid;

use crate::{
    ACCEPT, CANCEL, COMPLETE, DISPATCH, ESCALATE, ORDER, RATE, RECEIVE, START, TestApp, error_code,
    paths,
};

const DISPATCH_TEAM: &str = "mutation($id: ID!, $team: ID!) { dispatchOrder(orderId: $id, teamId: $team) { id state teamId dispatchedVolunteers { id } } }";
const ACCEPTED: &str = "mutation($id: ID!) { acceptOrder(orderId: $id) { id state teamId acceptedVolunteers { id } } }";

fn state_of(r: &Value, field: &str) -> String {
    r["data"][field]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {r}"))
        .to_owned()
}

#[tokio::test]
async fn staff_in_scope_accept_a_team_dispatch_and_the_completion_names_the_team() {
    let app = TestApp::spawn_embedded().await;
    let mut events = app
        .bus
        .watch("tongxin.orders.order_completed")
        .await
        .expect("watch");
    let courtyard = app.staff(paths::CAIJIABA);
    let member = app.new_volunteer().await;
    let team = app
        .volunteers
        .create_team(
            &app.staff_principal(paths::CAIJIABA),
            tongxin_volunteers::service::teams::NewTeam {
                name: "蔡家坝小院支队".into(),
                level: tongxin_volunteers::domain::team::TeamLevel::CourtyardUnit,
                unit_id: demo::unit_id(paths::CAIJIABA).0,
                parent_id: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("team: {e:?}"))
        .id;
    app.volunteers
        .add_team_member(&app.staff_principal(paths::CAIJIABA), team, member, false)
        .await
        .unwrap_or_else(|e| panic!("member: {e:?}"));

    let id = app.place_ok("alice", "elder_visit", "team").await;
    assert_eq!(
        state_of(
            &app.act(&courtyard, RECEIVE, &id, json!({})).await,
            "receiveOrder"
        ),
        "RECEIVED"
    );
    let r = app
        .act(&courtyard, DISPATCH_TEAM, &id, json!({"team": team}))
        .await;
    assert_eq!(state_of(&r, "dispatchOrder"), "DISPATCHED");
    assert_eq!(r["data"]["dispatchOrder"]["teamId"], team.to_string());
    assert_eq!(
        r["data"]["dispatchOrder"]["dispatchedVolunteers"],
        json!([])
    );

    // A member does not accept for the team, nor do staff of another institute or of a
    // unit below the holding courtyard's scope… the courtyard's and its ancestors' staff do.
    let r = app
        .act(&app.volunteer(member), ACCEPTED, &id, json!({}))
        .await;
    // (Orders does not know the team's members: a member not dispatched by name does not
    // see the order, and out of scope it does not exist either.)
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "a member: {r}");
    let r = app
        .act(&app.staff(paths::FENGGAO), ACCEPTED, &id, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "out of scope: {r}");
    assert_eq!(
        app.timeline_events(&id).await.last().map(String::as_str),
        Some("dispatched")
    );
    let r = app
        .act(&app.staff(paths::HONGQIAO), ACCEPTED, &id, json!({}))
        .await;
    assert_eq!(state_of(&r, "acceptOrder"), "ACCEPTED", "{r}");
    assert_eq!(r["data"]["acceptOrder"]["teamId"], team.to_string());
    assert_eq!(
        r["data"]["acceptOrder"]["acceptedVolunteers"],
        json!([]),
        "the team accepted, no one volunteer"
    );
    // Nobody personally accepted, so the member does not start it either; staff do.
    let r = app.act(&app.volunteer(member), START, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    assert_eq!(
        state_of(
            &app.act(&courtyard, START, &id, json!({})).await,
            "startOrder"
        ),
        "IN_PROGRESS"
    );
    // The team's members are known to volunteers, not here: hours go to whoever served.
    let r = app
        .act(
            &courtyard,
            COMPLETE,
            &id,
            json!({"hours": [{"volunteerId": member.to_string(), "hours": 3}]}),
        )
        .await;
    assert_eq!(state_of(&r, "completeOrder"), "COMPLETED", "{r}");

    // The event volunteers credits from names the team and the hours.
    let msg = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("order_completed in time")
        .expect("open");
    let body = tongxin_proto::events::OrderChanged::decode(msg.payload.clone()).expect("body");
    assert_eq!(body.order_id, id);
    assert_eq!(body.team_id, Some(team.to_string()));
    assert_eq!(
        body.hours
            .iter()
            .map(|h| (h.volunteer_id.clone(), h.hours))
            .collect::<Vec<_>>(),
        [(member.to_string(), 3.0)]
    );
    assert_eq!(
        app.timeline_events(&id).await,
        [
            "placed",
            "received",
            "dispatched",
            "accepted",
            "started",
            "completed"
        ]
    );
    app.stop().await;
}

/// Drives a fresh order at 蔡家坝 to `state` through the subgraph (volunteer `v`); its id.
async fn order_in(app: &TestApp, state: &str, v: Uuid, key: &str) -> String {
    let id = app.place_ok("alice", "elder_visit", key).await;
    let steps: &[&str] = match state {
        "placed" => &[],
        "received" => &["receive"],
        "escalated" => &["receive", "escalate"],
        "dispatched" => &["receive", "dispatch"],
        "accepted" => &["receive", "dispatch", "accept"],
        "in_progress" => &["receive", "dispatch", "accept", "start"],
        "completed" => &["receive", "dispatch", "accept", "start", "complete"],
        "rated" => &["receive", "dispatch", "accept", "start", "complete", "rate"],
        "cancelled" => &["cancel"],
        other => panic!("no way to {other}"),
    };
    let (staff, volunteer, citizen) = (
        app.staff(paths::CAIJIABA),
        app.volunteer(v),
        app.citizen("alice"),
    );
    for step in steps {
        let (token, mutation, extra, field, to) = match *step {
            "receive" => (&staff, RECEIVE, json!({}), "receiveOrder", "RECEIVED"),
            "escalate" => (
                &staff,
                ESCALATE,
                json!({"reason": "本级无法办理"}),
                "escalateOrder",
                "ESCALATED",
            ),
            "dispatch" => (
                &staff,
                DISPATCH,
                json!({"volunteers": [v.to_string()]}),
                "dispatchOrder",
                "DISPATCHED",
            ),
            "accept" => (&volunteer, ACCEPT, json!({}), "acceptOrder", "ACCEPTED"),
            "start" => (&volunteer, START, json!({}), "startOrder", "IN_PROGRESS"),
            "complete" => (
                &volunteer,
                COMPLETE,
                json!({"hours": [{"volunteerId": v.to_string(), "hours": 1}]}),
                "completeOrder",
                "COMPLETED",
            ),
            "rate" => (&citizen, RATE, json!({"rating": 5}), "rateOrder", "RATED"),
            _ => (&citizen, CANCEL, json!({}), "cancelOrder", "CANCELLED"),
        };
        let r = app.act(token, mutation, &id, extra).await;
        assert_eq!(state_of(&r, field), to, "{step}: {r}");
    }
    id
}

#[tokio::test]
async fn the_owner_cancels_before_acceptance_and_never_after() {
    let app = TestApp::spawn_embedded().await;
    let v = app.new_volunteer().await;
    let alice = app.citizen("alice");
    for (state, allowed) in [
        ("placed", true),
        ("received", true),
        ("escalated", true),
        ("dispatched", true),
        ("accepted", false),
        ("in_progress", false),
        ("completed", false),
        ("rated", false),
        ("cancelled", false),
    ] {
        let id = order_in(&app, state, v, &format!("cancel-{state}")).await;
        let before = app.timeline_events(&id).await;
        let r = app.act(&alice, CANCEL, &id, json!({})).await;
        let now = app.graphql(Some(&alice), ORDER, json!({"id": id})).await;
        if allowed {
            assert_eq!(state_of(&r, "cancelOrder"), "CANCELLED", "{state}: {r}");
            assert_eq!(now["data"]["order"]["state"], "CANCELLED", "{state}");
            let mut after = before.clone();
            after.push("cancelled".to_owned());
            assert_eq!(app.timeline_events(&id).await, after, "{state}");
        } else {
            assert_eq!(error_code(&r), Some("CONFLICT"), "{state}: {r}");
            assert_eq!(
                r["errors"][0]["message"],
                format!("order is {state}: cannot cancel"),
                "{state}"
            );
            assert_eq!(
                now["data"]["order"]["state"],
                state.to_uppercase(),
                "{state}: unchanged"
            );
            assert_eq!(app.timeline_events(&id).await, before, "{state}");
        }
    }
    app.stop().await;
}

/// Waits until orders has learnt `path` for unit `id` (the venues event went through).
async fn until_orders_know(app: &TestApp, id: Uuid, path: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let known = tongxin_orders::store::known_units::get(&app.db, id)
            .await
            .expect("known unit");
        if known.as_ref().is_some_and(|k| k.path == path) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "orders never learnt {path}: {known:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_moved_unit_takes_its_staff_scope_and_its_new_orders_along() {
    let app = TestApp::spawn().await;
    let rongsheng = "/rc/zhisheng/rongsheng";
    let moved = format!("{rongsheng}/caijiaba");
    let (old_station, new_station) = (app.staff(paths::HONGQIAO), app.staff(rongsheng));
    // Orders knows the courtyard where it was (a staff request looks it up), so the event
    // has something to move. No order is placed there before the move: routing reuses a
    // courtyard's chain for `CHAIN_TTL` (30 s, by design), and an order placed that soon
    // after a move may still climb the old chain.
    app.caller(&app.staff_principal(paths::CAIJIABA)).await;
    let caijiaba = demo::unit_id(paths::CAIJIABA).0;
    until_orders_know(&app, caijiaba, paths::CAIJIABA).await;

    // 蔡家坝 moves from 虹桥 (昌元) to 荣升 (治省): venues publishes unit_updated "moved".
    app.venues
        .as_ref()
        .expect("venues")
        .move_unit(
            &app.staff_principal(paths::CENTER),
            demo::unit_id(paths::CAIJIABA),
            demo::unit_id(rongsheng),
        )
        .await
        .unwrap_or_else(|e| panic!("move: {e:?}"));
    until_orders_know(&app, caijiaba, &moved).await;

    // A new order is routed along the new chain.
    let id = app.place_ok("bob", "elder_visit", "after-move").await;
    let r = app
        .graphql(Some(&app.citizen("bob")), ORDER, json!({"id": id}))
        .await;
    assert_eq!(r["data"]["order"]["holdingUnitPath"], moved, "{r}");
    // The old station neither sees nor moves it; the new one sees it.
    let r = app
        .graphql(Some(&old_station), ORDER, json!({"id": id}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "old ancestor: {r}");
    let r = app.act(&old_station, RECEIVE, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "old ancestor: {r}");
    let r = app
        .graphql(Some(&new_station), ORDER, json!({"id": id}))
        .await;
    assert_eq!(
        r["data"]["order"]["holdingUnitPath"], moved,
        "new parent: {r}"
    );
    // The courtyard's staff act under the courtyard's new path.
    let courtyard = app.staff(paths::CAIJIABA);
    let r = app.act(&courtyard, RECEIVE, &id, json!({})).await;
    assert_eq!(state_of(&r, "receiveOrder"), "RECEIVED", "{r}");
    // Passed up, it goes to the new parent, whose staff receive it; the old one cannot.
    let r = app
        .act(&courtyard, ESCALATE, &id, json!({"reason": "需要站里协调"}))
        .await;
    assert_eq!(
        r["data"]["escalateOrder"]["holdingUnitPath"], rongsheng,
        "{r}"
    );
    let r = app.act(&old_station, RECEIVE, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "old ancestor: {r}");
    let r = app.act(&new_station, RECEIVE, &id, json!({})).await;
    assert_eq!(state_of(&r, "receiveOrder"), "RECEIVED", "new parent: {r}");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_database_is_internal_and_its_cause_stays_in_the_log() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "internal").await;
    let alice = app.citizen("alice");
    let r = app.graphql(Some(&alice), ORDER, json!({"id": id})).await;
    assert_eq!(r["data"]["order"]["id"], id.as_str(), "{r}");
    // Break the orders table under the running service (this test's own database).
    app.db
        .execute_unprepared("ALTER TABLE orders RENAME COLUMN rating_comment TO gone")
        .await
        .expect("break");
    for (what, r) in [
        (
            "a query",
            app.graphql(Some(&alice), ORDER, json!({"id": id})).await,
        ),
        ("a move", app.act(&alice, CANCEL, &id, json!({})).await),
    ] {
        assert_eq!(error_code(&r), Some("INTERNAL_SERVER_ERROR"), "{what}: {r}");
        assert_eq!(r["errors"][0]["message"], "internal error", "{what}: {r}");
        // Nothing but the generic message and the code: no detail in the extensions, and
        // no second error carrying it.
        assert_eq!(r["errors"].as_array().map(Vec::len), Some(1), "{what}: {r}");
        let error = &r["errors"][0];
        let text = format!("{} {}", error["message"], error["extensions"]).to_lowercase();
        for leak in [
            "rating_comment",
            "column",
            "orders",
            "sql",
            "postgres",
            "database",
            "relation",
            "select",
        ] {
            assert!(!text.contains(leak), "{what} leaks {leak:?}: {r}");
        }
    }
    app.stop().await;
}

/// Log lines written while a test holds the guard of [`capture_logs`].
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's logs (the test runtime is single-threaded, so the services'
/// tasks log here too) until the guard drops.
fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::ERROR)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// Writes `value` into `column` of order `id` behind the typed model's back.
async fn corrupt(
    app: &TestApp,
    id: &str,
    column: tongxin_orders::store::orders::Column,
    value: sea_orm::Value,
) {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tongxin_orders::store::orders;
    let changed = orders::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(orders::Column::Id.eq(Uuid::parse_str(id).expect("id")))
        .exec(&app.db)
        .await
        .expect("corrupt");
    assert_eq!(changed.rows_affected, 1);
}

async fn a_stored_order_that_does_not_parse_is_internal_and_logged_with_its_id(app: TestApp) {
    use tongxin_orders::store::orders::Column;
    let alice = app.citizen("alice");
    let staff = app.staff(paths::CENTER);
    // A phone number as the "chain": the log must not echo it.
    let secret = "13812345678";
    let cases: [(&str, Column, sea_orm::Value); 4] = [
        ("an unknown state", Column::State, "lost".into()),
        (
            "a chain that is not JSON",
            Column::Chain,
            format!("\"{secret}\"").into(),
        ),
        (
            "hours that are not quarter hours",
            Column::Hours,
            r#"[{"volunteer_id":"00000000-0000-0000-0000-000000000000","hours":0.3}]"#.into(),
        ),
        (
            "a holding unit outside the chain",
            Column::Holding,
            7.into(),
        ),
    ];
    for (i, (what, column, value)) in cases.into_iter().enumerate() {
        let id = app
            .place_ok("alice", "elder_visit", &format!("corrupt-{i}"))
            .await;
        corrupt(&app, &id, column, value).await;
        let (logs, guard) = capture_logs();
        for (via, r) in [
            (
                "order",
                app.graphql(Some(&alice), ORDER, json!({"id": id})).await,
            ),
            ("a move", app.act(&alice, CANCEL, &id, json!({})).await),
            (
                "a unit list",
                app.graphql(
                    Some(&staff),
                    "query($u: ID!) { unitOrders(unitId: $u) { edges { node { id } } } }",
                    json!({"u": demo::unit_id(paths::CENTER).0.to_string()}),
                )
                .await,
            ),
        ] {
            assert_eq!(
                error_code(&r),
                Some("INTERNAL_SERVER_ERROR"),
                "{what} via {via}: {r}"
            );
            assert_eq!(
                r["errors"][0]["message"], "internal error",
                "{what} via {via}: {r}"
            );
        }
        drop(guard);
        let log = logs.text();
        assert!(log.contains("does not parse"), "{what}: {log}");
        assert!(log.contains(&id), "{what}: the log names the order: {log}");
        assert!(
            !log.contains(secret),
            "{what}: the log echoes stored data: {log}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stored_order_that_does_not_parse_is_internal_on_postgres() {
    a_stored_order_that_does_not_parse_is_internal_and_logged_with_its_id(TestApp::spawn().await)
        .await;
}

#[tokio::test]
async fn a_stored_order_that_does_not_parse_is_internal_on_sqlite() {
    a_stored_order_that_does_not_parse_is_internal_and_logged_with_its_id(
        TestApp::spawn_embedded().await,
    )
    .await;
}
