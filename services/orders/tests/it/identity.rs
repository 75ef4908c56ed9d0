//! Who a volunteer is (their account, resolved by the volunteers service) and what a dispatch
//! may name (existing, active volunteers; an existing team), with volunteers running
//! in-process, and what happens when it stops answering.

use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_volunteers::domain::VolunteerId;
use tongxin_volunteers::domain::matching::VolunteerStatus;
use tongxin_volunteers::domain::team::TeamLevel;
use tongxin_volunteers::service::teams::NewTeam;
use uuid::Uuid;

use crate::{ACCEPT, DISPATCH, ORDER, RECEIVE, START, TestApp, error_code, paths};

fn state(r: &Value, field: &str) -> String {
    r["data"][field]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {r}"))
        .to_owned()
}

fn message(r: &Value) -> String {
    r["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Volunteers-side staff of 蔡家坝 (the unit is known to volunteers).
fn volunteers_staff() -> Principal {
    Principal {
        subject: "volunteers-staff".into(),
        roles: vec![Role::Staff],
        unit: Some(tongxin_venues::demo::unit_id(paths::CAIJIABA).0),
        district: Some("rc".into()),
        credential: None,
    }
}

async fn received(app: &TestApp, key: &str) -> String {
    let id = app.place_ok("alice", "elder_visit", key).await;
    let r = app
        .act(&app.staff(paths::CAIJIABA), RECEIVE, &id, json!({}))
        .await;
    assert_eq!(state(&r, "receiveOrder"), "RECEIVED");
    id
}

async fn order_state(app: &TestApp, id: &str) -> Value {
    let r = app
        .graphql(Some(&app.citizen("alice")), ORDER, json!({"id": id}))
        .await;
    r["data"]["order"]["state"].clone()
}

#[tokio::test]
async fn a_volunteer_acts_through_the_account_linked_to_their_record() {
    let app = TestApp::spawn().await;
    let v = app.new_volunteer().await;
    let id = received(&app, "who").await;
    let staff = app.staff(paths::CAIJIABA);
    let r = app
        .act(
            &staff,
            DISPATCH,
            &id,
            json!({"volunteers": [v.to_string()]}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");

    // A token whose subject is the volunteer id is not that volunteer any more, nor is an
    // account without a record.
    for token in [
        app.volunteer_account(&v.to_string()),
        app.volunteer_account("no-such-account"),
    ] {
        let r = app.act(&token, ACCEPT, &id, json!({})).await;
        // Not dispatched to them: for them the order does not exist.
        assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    }
    assert_eq!(order_state(&app, &id).await, "DISPATCHED");

    // The account linked to the record is.
    let r = app.act(&app.volunteer(v), ACCEPT, &id, json!({})).await;
    assert_eq!(state(&r, "acceptOrder"), "ACCEPTED");
    assert_eq!(
        r["data"]["acceptOrder"]["acceptedVolunteers"],
        json!([{"id": v.to_string()}])
    );
    let timeline =
        tongxin_orders::store::timeline::of_order(&app.db, Uuid::parse_str(&id).expect("id"))
            .await
            .expect("timeline");
    let accepted = timeline
        .iter()
        .find(|t| t.event == "accepted")
        .expect("accepted");
    assert_eq!(accepted.role, "volunteer");
    assert!(accepted.actor.starts_with("account-"), "{}", accepted.actor);
    // And it can read what it accepted.
    let r = app
        .graphql(Some(&app.volunteer(v)), ORDER, json!({"id": id}))
        .await;
    assert_eq!(r["data"]["order"]["state"], "ACCEPTED", "{r}");
    app.stop().await;
}

#[tokio::test]
async fn dispatch_names_only_existing_active_volunteers_or_an_existing_team() {
    let app = TestApp::spawn().await;
    let id = received(&app, "targets").await;
    let staff = app.staff(paths::CAIJIABA);
    let (known, paused) = (app.new_volunteer().await, app.new_volunteer().await);
    app.volunteers
        .set_status(
            &volunteers_staff(),
            VolunteerId(paused),
            VolunteerStatus::Paused,
        )
        .await
        .expect("pause");
    let unknown = Uuid::now_v7();
    let before = app.timeline_events(&id).await;

    let cases = [
        (
            json!([known.to_string(), unknown.to_string()]),
            unknown,
            "does not exist",
        ),
        (
            json!([paused.to_string()]),
            paused,
            "is not active (paused)",
        ),
    ];
    for (volunteers, named, why) in cases {
        let r = app
            .act(&staff, DISPATCH, &id, json!({"volunteers": volunteers}))
            .await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
        assert!(
            message(&r).contains(&format!("volunteer {named} {why}")),
            "{r}"
        );
    }
    let team_dispatch = "mutation($id: ID!, $team: ID!) { dispatchOrder(orderId: $id, teamId: $team) { id state } }";
    let no_team = Uuid::now_v7();
    let r = app
        .act(
            &staff,
            team_dispatch,
            &id,
            json!({"team": no_team.to_string()}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(
        message(&r).contains(&format!("team {no_team} does not exist")),
        "{r}"
    );
    // Nothing changed.
    assert_eq!(app.timeline_events(&id).await, before);
    assert_eq!(order_state(&app, &id).await, "RECEIVED");

    // Out of scope: FORBIDDEN before any question about the targets.
    let r = app
        .act(
            &app.staff(paths::FENGGAO),
            DISPATCH,
            &id,
            json!({"volunteers": [unknown.to_string()]}),
        )
        .await;
    // Out of scope the order does not exist, whatever the dispatch names.
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    // An existing team is taken.
    let team = app
        .volunteers
        .create_team(
            &volunteers_staff(),
            NewTeam {
                name: "蔡家坝小院支队".into(),
                level: TeamLevel::CourtyardUnit,
                unit_id: tongxin_venues::demo::unit_id(paths::CAIJIABA).0,
                parent_id: None,
            },
        )
        .await
        .expect("team");
    let r = app
        .act(
            &staff,
            team_dispatch,
            &id,
            json!({"team": team.id.to_string()}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");

    // And so are existing active volunteers.
    let other = received(&app, "targets-2").await;
    let r = app
        .act(
            &staff,
            DISPATCH,
            &other,
            json!({"volunteers": [known.to_string()]}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");
    app.stop().await;
}

#[tokio::test]
async fn with_volunteers_down_volunteer_moves_and_dispatch_are_unavailable() {
    let mut app = TestApp::spawn().await;
    let (early, late) = (app.new_volunteer().await, app.new_volunteer().await);
    let staff = app.staff(paths::CAIJIABA);
    let first = received(&app, "down-1").await;
    let second = received(&app, "down-2").await;
    for (id, v) in [(&first, early), (&second, late)] {
        let r = app
            .act(&staff, DISPATCH, id, json!({"volunteers": [v.to_string()]}))
            .await;
        assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");
    }
    // `early` is known to orders before volunteers goes away: the link is remembered.
    let r = app
        .act(&app.volunteer(early), ACCEPT, &first, json!({}))
        .await;
    assert_eq!(state(&r, "acceptOrder"), "ACCEPTED");
    let third = received(&app, "down-3").await;

    app.stop_volunteers().await;

    // `late` cannot be told apart from nobody: UNAVAILABLE, nothing changed.
    let before = app.timeline_events(&second).await;
    let r = app
        .act(&app.volunteer(late), ACCEPT, &second, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("UNAVAILABLE"), "{r}");
    let r = app
        .graphql(Some(&app.volunteer(late)), ORDER, json!({"id": second}))
        .await;
    assert_eq!(error_code(&r), Some("UNAVAILABLE"), "not NOT_FOUND: {r}");
    assert_eq!(app.timeline_events(&second).await, before);
    assert_eq!(order_state(&app, &second).await, "DISPATCHED");

    // A dispatch cannot check its targets: UNAVAILABLE, nothing changed.
    let before = app.timeline_events(&third).await;
    let r = app
        .act(
            &staff,
            DISPATCH,
            &third,
            json!({"volunteers": [late.to_string()]}),
        )
        .await;
    assert_eq!(error_code(&r), Some("UNAVAILABLE"), "{r}");
    assert_eq!(app.timeline_events(&third).await, before);
    assert_eq!(order_state(&app, &third).await, "RECEIVED");
    let r = app
        .graphql(
            Some(&staff),
            "query($id: ID!) { suggestCandidates(orderId: $id) { edges { node { name } } } }",
            json!({"id": third}),
        )
        .await;
    assert_eq!(error_code(&r), Some("UNAVAILABLE"), "{r}");

    // What needs no volunteers still works: the remembered volunteer starts, staff receive.
    let r = app
        .act(&app.volunteer(early), START, &first, json!({}))
        .await;
    assert_eq!(state(&r, "startOrder"), "IN_PROGRESS");
    received(&app, "down-4").await;
    app.stop().await;
}
