//! Hours reach the volunteers' ledger only as the actor's scope allows (issue 13, item 8),
//! through the real services: orders' and venues' subgraphs publish, volunteers' crediting
//! consumers append. Staff of 蔡家坝 (a courtyard) may approve hours for volunteers of their
//! own courtyard; hours they record for a volunteer of 峰高 (another institute) wait, pending,
//! for staff whose scope covers that volunteer, and hours for someone outside the dispatched
//! team are not credited at all.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tongxin_platform::auth::{Principal, Role};
use tongxin_venues::demo;
use tongxin_volunteers::store::ledger::entries;
use uuid::Uuid;

use crate::{
    ACCEPT, CAIJIABA_POINT, COMPLETE, DISPATCH, RECEIVE, START, TestApp, error_code, paths,
};

const DISPATCH_TEAM: &str =
    "mutation($id: ID!, $team: ID!) { dispatchOrder(orderId: $id, teamId: $team) { id state } }";
const ACCEPT_FOR_TEAM: &str = "mutation($id: ID!) { acceptOrder(orderId: $id) { id state } }";

/// Registers a volunteer living at `path` (self-registration); their id.
async fn volunteer_at(app: &TestApp, path: &str, n: u32) -> Uuid {
    let person = Principal {
        subject: format!("crediting-{n}-{}", Uuid::now_v7().simple()),
        roles: vec![Role::Volunteer],
        unit: None,
        district: Some("rc".into()),
        credential: None,
    };
    app.volunteers
        .register(
            &person,
            tongxin_volunteers::service::NewVolunteer {
                name: format!("远方志愿者{n}"),
                id_card_number: tongxin_volunteers::demo::with_check_character(&format!(
                    "50015319850505{n:03}"
                )),
                phone: format!("137{n:08}"),
                home_unit_id: demo::unit_id(path).0,
                home_unit_path: path.to_owned(),
                lat: CAIJIABA_POINT.0,
                lon: CAIJIABA_POINT.1,
                skills: vec!["repair".to_owned()],
                availability: "Mon-Sun 00:00-24:00".to_owned(),
                consent: true,
                guardian_consent: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("register at {path}: {e:?}"))
        .id()
        .0
}

/// (volunteer, status, quarter hours) of the ledger rows sourced from `source_id`, once
/// there are `expected` of them (one event is handled in one transaction, so all rows of it
/// appear together; a volunteer refused has none).
async fn credited(app: &TestApp, source_id: Uuid, expected: usize) -> Vec<(Uuid, String, i16)> {
    let db = app.spawned.direct_db(tongxin_volunteers::NAME).await;
    let rows = || async {
        let mut rows: Vec<(Uuid, String, i16)> = entries::Entity::find()
            .filter(entries::Column::SourceId.eq(source_id))
            .all(&db)
            .await
            .expect("entries")
            .into_iter()
            .map(|e| (e.volunteer_id, e.status.to_value(), e.quarters))
            .collect();
        rows.sort();
        rows
    };
    let arrived = tongxin_testing::wait_until(Duration::from_secs(20), || async {
        rows().await.len() >= expected
    })
    .await;
    assert!(arrived, "the credits of {source_id} did not arrive");
    rows().await
}

fn sorted(mut rows: Vec<(Uuid, String, i16)>) -> Vec<(Uuid, String, i16)> {
    rows.sort();
    rows
}

#[tokio::test]
async fn a_team_completion_approves_only_what_the_holding_scope_covers() {
    let app = TestApp::spawn().await;
    let courtyard = app.staff(paths::CAIJIABA);
    let near = app.new_volunteer().await; // of 蔡家坝
    let far = volunteer_at(&app, paths::FENGGAO, 1).await;
    let stranger = volunteer_at(&app, paths::FENGGAO, 2).await;
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
    for member in [near, far] {
        app.volunteers
            .add_team_member(&app.staff_principal(paths::CAIJIABA), team, member, false)
            .await
            .unwrap_or_else(|e| panic!("member: {e:?}"));
    }

    let id = app.place_ok("alice", "elder_visit", "crediting-team").await;
    for (mutation, extra) in [
        (RECEIVE, json!({})),
        (DISPATCH_TEAM, json!({"team": team})),
        (ACCEPT_FOR_TEAM, json!({})),
        (START, json!({})),
    ] {
        let r = app.act(&courtyard, mutation, &id, extra).await;
        assert!(r["errors"].is_null(), "{r}");
    }
    // 2 h for the member of 蔡家坝, 3 h for the member of 峰高, 6 h for someone of 峰高 who
    // is not in the team at all.
    let r = app
        .act(
            &courtyard,
            COMPLETE,
            &id,
            json!({"hours": [
                {"volunteerId": near.to_string(), "hours": 2},
                {"volunteerId": far.to_string(), "hours": 3},
                {"volunteerId": stranger.to_string(), "hours": 6},
            ]}),
        )
        .await;
    assert_eq!(r["data"]["completeOrder"]["state"], "COMPLETED", "{r}");

    let order = Uuid::parse_str(&id).expect("id");
    assert_eq!(
        credited(&app, order, 2).await,
        sorted(vec![
            (near, "approved".to_owned(), 8),
            (far, "pending".to_owned(), 12),
        ])
    );
    app.stop().await;
}

#[tokio::test]
async fn hours_recorded_for_an_activity_approve_only_what_the_recorder_covers() {
    let app = TestApp::spawn().await;
    let venues_url = format!(
        "http://{}/graphql",
        app.spawned.service(tongxin_venues::NAME).http_addr()
    );
    let gql = |token: String, query: &'static str, variables: serde_json::Value| {
        let url = venues_url.clone();
        async move { tongxin_testing::graphql(&url, Some(&token), query, variables).await }
    };
    let courtyard = app.staff(paths::CAIJIABA);
    let near = app.new_volunteer().await; // of 蔡家坝
    let far = volunteer_at(&app, paths::FENGGAO, 3).await;

    let venue = gql(
        courtyard.clone(),
        r#"mutation($input: CreateVenueInput!) { createVenue(input: $input) { id } }"#,
        json!({ "input": {
            "kind": "COURTYARD", "name": "蔡家坝讲堂",
            "orgUnitId": demo::unit_id(paths::CAIJIABA).to_string(),
            "location": { "lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1 },
            "capacity": 60, "facilities": [], "openingHours": "9:00-17:00",
            "photoUrls": [], "address": "荣昌区昌元街道虹桥社区"
        }}),
    )
    .await;
    let venue = venue["data"]["createVenue"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("venue: {venue}"))
        .to_owned();
    let starts_at = Utc::now() - Span::hours(3);
    let activity = gql(
        courtyard.clone(),
        r#"mutation($input: CreateActivityInput!) { createActivity(input: $input) { id } }"#,
        json!({ "input": {
            "theme": "LAW", "title": "民法典进小院", "venueId": venue,
            "orgUnitId": demo::unit_id(paths::CAIJIABA).to_string(),
            "startsAt": starts_at.to_rfc3339(),
            "endsAt": (starts_at + Span::hours(2)).to_rfc3339(),
            "capacity": 40, "speakers": ["王律师"], "volunteerIds": [near.to_string()]
        }}),
    )
    .await;
    let activity = activity["data"]["createActivity"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("activity: {activity}"))
        .to_owned();
    // The courtyard's staff say both served: 2 h for their own volunteer, 8 h for one of 峰高.
    let held = gql(
        courtyard.clone(),
        r#"mutation($id: ID!, $input: RecordActivityHeldInput!) { recordActivityHeld(id: $id, input: $input) { status } }"#,
        json!({ "id": activity, "input": { "attendance": 30, "served": [
            { "volunteerId": near.to_string(), "hours": 2 },
            { "volunteerId": far.to_string(), "hours": 8 } ] } }),
    )
    .await;
    assert_eq!(
        held["data"]["recordActivityHeld"]["status"], "HELD",
        "{held}"
    );

    let activity = Uuid::parse_str(&activity).expect("id");
    assert_eq!(
        credited(&app, activity, 2).await,
        sorted(vec![
            (near, "approved".to_owned(), 8),
            (far, "pending".to_owned(), 32),
        ])
    );
    // The courtyard's staff cannot approve it themselves; staff of 峰高 cover the volunteer
    // and can.
    let entry = entries::Entity::find()
        .filter(entries::Column::VolunteerId.eq(far))
        .one(&app.spawned.direct_db(tongxin_volunteers::NAME).await)
        .await
        .expect("entry")
        .expect("the pending entry");
    let refused = app
        .volunteers
        .approve_hours(&app.staff_principal(paths::CAIJIABA), entry.id)
        .await;
    assert!(
        matches!(
            refused,
            Err(tongxin_volunteers::error::VolunteersError::Forbidden(_))
        ),
        "{refused:?}"
    );
    let approved = app
        .volunteers
        .approve_hours(&app.staff_principal(paths::FENGGAO), entry.id)
        .await
        .unwrap_or_else(|e| panic!("approve: {e:?}"));
    assert_eq!(approved.status.to_value(), "approved");
    app.stop().await;
}

/// Orders knows whom it dispatched: hours for anyone else are refused at the source, naming
/// the id, and the order stays in progress.
#[tokio::test]
async fn a_completion_naming_someone_not_dispatched_is_refused() {
    let app = TestApp::spawn_embedded().await;
    let courtyard = app.staff(paths::CAIJIABA);
    let v = app.new_volunteer().await;
    let stranger = volunteer_at(&app, paths::FENGGAO, 4).await;
    let id = app
        .place_ok("alice", "elder_visit", "crediting-dispatch")
        .await;
    for (token, mutation, extra) in [
        (&courtyard, RECEIVE, json!({})),
        (&courtyard, DISPATCH, json!({"volunteers": [v.to_string()]})),
        (&app.volunteer(v), ACCEPT, json!({})),
        (&app.volunteer(v), START, json!({})),
    ] {
        let r = app.act(token, mutation, &id, extra).await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let r = app
        .act(
            &courtyard,
            COMPLETE,
            &id,
            json!({"hours": [
                {"volunteerId": v.to_string(), "hours": 1},
                {"volunteerId": stranger.to_string(), "hours": 6},
            ]}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&stranger.to_string()), "{message}");
    assert_eq!(
        app.timeline_events(&id).await.last().map(String::as_str),
        Some("started")
    );
    app.stop().await;
}
