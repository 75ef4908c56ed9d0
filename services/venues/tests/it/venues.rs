//! Venues through GraphQL and gRPC: create, update, archive, scope, bad input, batch reads,
//! demo data.

use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::venue_service_client::VenueServiceClient;
use tongxin_venues::demo::{self, paths};

use super::{TestApp, error_code};

pub const CREATE_VENUE: &str = r#"mutation($input: CreateVenueInput!) {
  createVenue(input: $input) { id kind name status capacity facilities openingHours photoUrls address
    location { lat lon } orgUnit { path } }
}"#;

pub fn venue_input(unit_path: &str, name: &str, lat: f64, lon: f64, capacity: i64) -> Value {
    json!({ "input": {
        "kind": "COURTYARD", "name": name,
        "orgUnitId": demo::unit_id(unit_path).to_string(),
        "location": { "lat": lat, "lon": lon },
        "capacity": capacity,
        "facilities": ["投影仪", "音响"],
        "openingHours": "周二至周日 9:00-17:00",
        "photoUrls": ["https://img.example.cn/caijiaba.jpg"],
        "address": "荣昌区昌元街道虹桥社区"
    }})
}

/// Creates a venue and returns its id.
pub async fn create_venue(
    app: &TestApp,
    token: &str,
    unit_path: &str,
    lat: f64,
    lon: f64,
    capacity: i64,
) -> String {
    let created = app
        .graphql(
            Some(token),
            CREATE_VENUE,
            venue_input(unit_path, "测试讲堂", lat, lon, capacity),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    created["data"]["createVenue"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

pub async fn venue_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    tongxin_venues::store::venues::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

const VENUES: &str = r#"query($unit: ID, $archived: Boolean, $kind: VenueKind, $after: String) {
  venues(unitId: $unit, includeArchived: $archived, kind: $kind, first: 2, after: $after) {
    edges { node { id name status } } pageInfo { hasNextPage endCursor } } }"#;

fn names(response: &Value) -> Vec<String> {
    response["data"]["venues"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn venues_are_created_updated_listed_and_archived_never_deleted() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CHANGYUAN));
    let created = app
        .graphql(
            Some(&token),
            CREATE_VENUE,
            venue_input(paths::CAIJIABA, " 蔡家坝小院讲堂 ", 29.3868, 105.5701, 80),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    let venue = &created["data"]["createVenue"];
    assert_eq!(venue["name"], "蔡家坝小院讲堂");
    assert_eq!(venue["kind"], "COURTYARD");
    assert_eq!(venue["status"], "ACTIVE");
    assert_eq!(venue["orgUnit"]["path"], paths::CAIJIABA);
    assert_eq!(venue["facilities"], json!(["投影仪", "音响"]));
    let id = venue["id"].as_str().expect("id").to_owned();

    // A partial update changes only what it names.
    let updated = app
        .graphql(
            Some(&token),
            r#"mutation($id: ID!) { updateVenue(id: $id, input: { name: "蔡家坝田园讲堂", capacity: 120, facilities: [] }) {
                name capacity facilities openingHours location { lat lon } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert!(updated["errors"].is_null(), "{updated}");
    let v = &updated["data"]["updateVenue"];
    assert_eq!(v["name"], "蔡家坝田园讲堂");
    assert_eq!(v["capacity"], 120);
    assert_eq!(v["facilities"], json!([]));
    assert_eq!(v["openingHours"], "周二至周日 9:00-17:00");
    assert_eq!(v["location"]["lat"], 29.3868);

    // A second venue elsewhere in the street, then listing by subtree with pagination.
    create_venue(&app, &token, paths::HONGQIAO, 29.39, 105.578, 50).await;
    let park = app
        .graphql(
            Some(&app.token(&[Role::Staff], Some(paths::CENTER))),
            CREATE_VENUE,
            json!({ "input": {
                "kind": "PARK", "name": "玉带河生态文化公园",
                "orgUnitId": demo::unit_id(paths::CENTER).to_string(),
                "location": { "lat": 29.4062, "lon": 105.5978 }, "capacity": 2000
            }}),
        )
        .await;
    assert!(park["errors"].is_null(), "{park}");

    let hongqiao = demo::unit_id(paths::HONGQIAO).to_string();
    let page = app.graphql(None, VENUES, json!({ "unit": hongqiao })).await;
    assert_eq!(names(&page), vec!["蔡家坝田园讲堂", "测试讲堂"]);
    assert_eq!(page["data"]["venues"]["pageInfo"]["hasNextPage"], false);
    let all = app.graphql(None, VENUES, json!({})).await;
    assert_eq!(all["data"]["venues"]["pageInfo"]["hasNextPage"], true);
    let rest = app
        .graphql(
            None,
            VENUES,
            json!({ "after": all["data"]["venues"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(names(&rest), vec!["玉带河生态文化公园"]);
    let parks = app.graphql(None, VENUES, json!({ "kind": "PARK" })).await;
    assert_eq!(names(&parks), vec!["玉带河生态文化公园"]);

    // Archive: gone from default lists, still readable, no further changes.
    let archived = app
        .graphql(
            Some(&token),
            r#"mutation($id: ID!) { archiveVenue(id: $id) { status } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(archived["data"]["archiveVenue"]["status"], "ARCHIVED");
    let page = app.graphql(None, VENUES, json!({ "unit": hongqiao })).await;
    assert_eq!(names(&page), vec!["测试讲堂"]);
    let page = app
        .graphql(None, VENUES, json!({ "unit": hongqiao, "archived": true }))
        .await;
    assert_eq!(names(&page).len(), 2);
    let read = app
        .graphql(
            None,
            r#"query($id: ID!) { venue(id: $id) { status name } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["venue"]["status"], "ARCHIVED");
    let refused = app
        .graphql(
            Some(&token),
            r#"mutation($id: ID!) { updateVenue(id: $id, input: { name: "x" }) { name } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
    assert_eq!(venue_count(&app).await, 3);
    app.stop().await;
}

#[tokio::test]
async fn venue_writes_need_staff_in_scope() {
    let app = TestApp::spawn().await;
    let input = venue_input(paths::CAIJIABA, "讲堂", 29.3868, 105.5701, 80);

    let anonymous = app.graphql(None, CREATE_VENUE, input.clone()).await;
    assert_eq!(
        error_code(&anonymous),
        Some("UNAUTHENTICATED"),
        "{anonymous}"
    );
    let citizen = app.token(&[Role::Citizen], Some(paths::CAIJIABA));
    let refused = app
        .graphql(Some(&citizen), CREATE_VENUE, input.clone())
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let fenggao = app.token(&[Role::Staff], Some("/rc/fenggao"));
    let refused = app
        .graphql(Some(&fenggao), CREATE_VENUE, input.clone())
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    assert_eq!(venue_count(&app).await, 0);

    let own = app.token(&[Role::Staff], Some(paths::HONGQIAO));
    let id = create_venue(&app, &own, paths::CAIJIABA, 29.3868, 105.5701, 80).await;
    for mutation in [
        r#"mutation($id: ID!) { updateVenue(id: $id, input: { capacity: 10 }) { id } }"#,
        r#"mutation($id: ID!) { archiveVenue(id: $id) { id } }"#,
    ] {
        let refused = app
            .graphql(Some(&fenggao), mutation, json!({ "id": id }))
            .await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    }
    // Moving it out of the mover's scope is refused too.
    let refused = app
        .graphql(
            Some(&own),
            r#"mutation($id: ID!, $unit: ID!) { updateVenue(id: $id, input: { orgUnitId: $unit }) { id } }"#,
            json!({ "id": id, "unit": demo::unit_id("/rc/fenggao").to_string() }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let read = app
        .graphql(
            None,
            r#"query($id: ID!) { venue(id: $id) { capacity status orgUnit { path } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["venue"]["capacity"], 80);
    assert_eq!(read["data"]["venue"]["status"], "ACTIVE");
    assert_eq!(read["data"]["venue"]["orgUnit"]["path"], paths::CAIJIABA);
    app.stop().await;
}

#[tokio::test]
async fn bad_venue_input_names_the_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let base = venue_input(paths::CAIJIABA, "讲堂", 29.3868, 105.5701, 80);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/input/location/lat", json!(91.0), "lat"),
        ("/input/location/lon", json!(-181.0), "lon"),
        ("/input/capacity", json!(0), "capacity"),
        ("/input/capacity", json!(100_001), "capacity"),
        ("/input/name", json!("   "), "name"),
        (
            "/input/openingHours",
            json!("时".repeat(201)),
            "openingHours",
        ),
        (
            "/input/photoUrls",
            json!(["ftp://x.cn/a.jpg"]),
            "photoUrls[0]",
        ),
        (
            "/input/photoUrls",
            json!(vec!["https://x.cn/a.jpg"; 21]),
            "photoUrls",
        ),
        ("/input/facilities", json!([""]), "facilities[0]"),
        ("/input/orgUnitId", json!("not-a-uuid"), "orgUnitId"),
        (
            "/input/orgUnitId",
            json!(uuid::Uuid::new_v4().to_string()),
            "orgUnitId",
        ),
    ];
    let outbox = app.outbox_count().await;
    for (pointer, value, field) in cases {
        let mut variables = base.clone();
        *variables.pointer_mut(pointer).expect("pointer") = value;
        let response = app.graphql(Some(&token), CREATE_VENUE, variables).await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{pointer}: {response}"
        );
        let message = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{field} not in {message}");
    }
    assert_eq!(venue_count(&app).await, 0);
    assert_eq!(app.outbox_count().await, outbox);
    app.stop().await;
}

#[tokio::test]
async fn batch_get_venues_over_grpc() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Role::Staff], Some(paths::CENTER));
    let a = create_venue(&app, &token, paths::CAIJIABA, 29.3868, 105.5701, 80).await;
    let b = create_venue(&app, &token, paths::YEHEWAN, 29.5231, 105.5198, 40).await;
    let missing = uuid::Uuid::new_v4().to_string();
    let mut client = VenueServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let caller = Principal {
        subject: "orders-service".to_owned(),
        roles: vec![Role::Staff],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    };
    let response = client
        .batch_get_venues(request_as(
            pb::BatchGetVenuesRequest {
                ids: vec![a.clone(), missing.clone(), b.clone(), a.clone()],
            },
            Some(&app.credential(&caller)),
        ))
        .await
        .expect("batch")
        .into_inner();
    let mut got: Vec<&str> = response.venues.iter().map(|v| v.id.as_str()).collect();
    got.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(response.missing_ids, vec![missing]);
    let yehewan = response.venues.iter().find(|v| v.id == b).expect("yehewan");
    assert_eq!(yehewan.kind, pb::VenueKind::Courtyard as i32);
    assert_eq!(
        yehewan.org_unit_id,
        demo::unit_id(paths::YEHEWAN).to_string()
    );
    assert_eq!(yehewan.capacity, 40);
    assert_eq!(yehewan.status, pb::VenueStatus::Active as i32);

    let status = client
        .batch_get_venues(request_as(
            pb::BatchGetVenuesRequest {
                ids: vec![a.clone(), "nope".to_owned()],
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("bad id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(grpc_reason(&status).as_deref(), Some("BAD_USER_INPUT"));
    assert!(status.message().contains("ids[1]"), "{}", status.message());
    let status = client
        .batch_get_venues(request_as(
            pb::BatchGetVenuesRequest { ids: vec![a; 1001] },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("too many");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let empty = client
        .batch_get_venues(request_as(
            pb::BatchGetVenuesRequest { ids: vec![] },
            Some(&app.service_credential()),
        ))
        .await
        .expect("empty")
        .into_inner();
    assert!(empty.venues.is_empty() && empty.missing_ids.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn demo_venues_and_activities_are_seeded_once_inside_the_district() {
    use sea_orm::EntityTrait;
    use tongxin_venues::store::{activities, org_units, venues};
    let app = TestApp::spawn().await;
    let units: Vec<org_units::OrgUnit> = org_units::Entity::find()
        .all(&app.db)
        .await
        .expect("units")
        .into_iter()
        .map(|m| m.try_into().expect("unit"))
        .collect();
    let courtyards = units
        .iter()
        .filter(|u| u.kind == tongxin_venues::domain::org::UnitKind::Courtyard)
        .count();
    let (v, a) = tongxin_venues::demo::venues::seed_venues_and_activities(&app.db, &units)
        .await
        .expect("seed");
    assert_eq!(v, courtyards + 1 + 80);
    assert!(a >= 300, "{a}");
    assert_eq!(
        tongxin_venues::demo::venues::seed_venues_and_activities(&app.db, &units)
            .await
            .expect("again"),
        (0, 0)
    );
    let points = venues::active_points(&app.db).await.expect("points");
    assert_eq!(points.len(), v);
    assert_eq!(
        points.iter().filter(|p| p.kind.is_courtyard()).count(),
        courtyards
    );
    for p in &points {
        assert!((29.25..=29.65).contains(&p.at.lat()), "{p:?}");
        assert!((105.30..=105.75).contains(&p.at.lon()), "{p:?}");
        assert!(p.kind.is_courtyard() || p.name.contains("合成") || p.name == "玉带河生态文化公园");
    }
    assert_eq!(activities::count(&app.db).await.expect("count"), a as u64);
    assert_eq!(app.outbox_count().await, 0, "seed data emits no events");

    // The seeded data answers the queries: theme counts at the center cover all seven themes.
    let counts = app
        .graphql(
            None,
            r#"query($unit: ID!) { themeCounts(unitId: $unit) { activities themes { theme activities held }
                children { unit { path } activities } } }"#,
            json!({ "unit": demo::unit_id(paths::CENTER).to_string() }),
        )
        .await;
    assert!(counts["errors"].is_null(), "{counts}");
    let t = &counts["data"]["themeCounts"];
    assert!(t["activities"].as_u64().expect("n") > 200);
    let children_total: u64 = t["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["activities"].as_u64().expect("n"))
        .sum();
    // Only the park's own activities hang on the center itself.
    assert!(children_total <= t["activities"].as_u64().expect("n"));
    for theme in t["themes"].as_array().expect("themes").iter().take(7) {
        assert!(theme["held"].as_u64().expect("held") > 0, "{theme}");
    }
    app.stop().await;
}

/// `tongxin run` keeps venues in SQLite: the same operations work there.
#[tokio::test]
async fn venues_and_activities_work_on_sqlite() {
    use chrono::{Duration as Span, Utc};
    use sea_orm::EntityTrait;
    use tongxin_platform::config::DatabaseSettings;
    use tongxin_platform::events::outbox::OutboxWaker;
    use tongxin_venues::domain::activity::{ActivityStatus, Theme};
    use tongxin_venues::migration::Migrator;
    use tongxin_venues::service::{NewActivity, Venues};
    use tongxin_venues::store::{org_units, venues};

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("venues.db").display());
    let db = tongxin_platform::db::connect_and_migrate::<Migrator>(&DatabaseSettings::new(&url))
        .await
        .expect("sqlite");
    demo::seed(&db).await.expect("tree");
    let units: Vec<org_units::OrgUnit> = org_units::Entity::find()
        .all(&db)
        .await
        .expect("units")
        .into_iter()
        .map(|m| m.try_into().expect("unit"))
        .collect();
    let (v, a) = tongxin_venues::demo::venues::seed_venues_and_activities(&db, &units)
        .await
        .expect("seed");
    assert!(v > 80 && a > 300);
    assert_eq!(venues::active_points(&db).await.expect("points").len(), v);

    let service = Venues::new(db.clone(), OutboxWaker::default());
    let actor = Principal {
        subject: "tester".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(demo::unit_id(paths::CENTER).0),
        district: Some("rc".to_owned()),
        credential: None,
    };
    let venue = tongxin_venues::demo::venues::venue_id(paths::CAIJIABA);
    let created = service
        .create_activity(
            &actor,
            NewActivity {
                theme: Theme::Science,
                theme_label: None,
                title: "草莓种植技术培训".to_owned(),
                venue_id: venue.to_string(),
                org_unit_id: demo::unit_id(paths::CAIJIABA).to_string(),
                starts_at: Utc::now() - Span::hours(1),
                ends_at: Utc::now() + Span::hours(1),
                capacity: 20,
                speakers: vec![],
                volunteer_ids: vec![],
            },
        )
        .await
        .expect("create");
    let volunteer = uuid::Uuid::new_v4().to_string();
    let (held, served) = service
        .record_held(&actor, created.id, 25, &[(volunteer, 1.5)])
        .await
        .expect("held");
    assert_eq!(held.status, ActivityStatus::Held);
    assert_eq!(served[0].quarter_hours, 6);
    assert!(
        service
            .record_held(&actor, created.id, 25, &[])
            .await
            .is_err()
    );
    let counts = service
        .theme_counts(demo::unit_id(paths::CENTER), None, None)
        .await
        .expect("counts");
    assert!(counts.counts.total[&Theme::Science].held > 0);
    let (page, more) = service
        .activities_page(
            tongxin_venues::service::ActivitiesWanted {
                unit: Some(demo::unit_id(paths::CENTER)),
                ..Default::default()
            },
            None,
            Some(5),
        )
        .await
        .expect("page");
    assert_eq!(page.len(), 5);
    assert!(more);
    let near = service
        .upcoming_near(29.40, 105.59, 20.0, Some(10), Utc::now())
        .await
        .expect("near");
    assert!(!near.is_empty());
    assert!(near.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(near.iter().all(|(a, _)| a.starts_at > Utc::now()));
}

/// Replicas (or the migration Job and a pod) starting together on a fresh PostgreSQL
/// database: every migrator succeeds, one after another, and the schema is whole. Without
/// the migrators' advisory lock two of them run the same `CREATE TABLE` and one fails.
#[tokio::test]
async fn migrators_racing_on_a_fresh_database_all_succeed() {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::MigratorTrait;
    use tongxin_platform::config::DatabaseSettings;
    use tongxin_venues::migration::Migrator;

    let database = tongxin_testing::TestDb::new().await;
    let settings = DatabaseSettings::new(database.url());
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let settings = settings.clone();
            tokio::spawn(async move {
                tongxin_platform::db::connect_and_migrate::<Migrator>(&settings).await
            })
        })
        .collect();
    let mut connections = Vec::new();
    for racer in racers {
        connections.push(racer.await.expect("join").expect("every migrator succeeds"));
    }
    let applied = connections[0]
        .query_one_raw(Statement::from_string(
            connections[0].get_database_backend(),
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n");
    assert_eq!(applied, Migrator::migrations().len() as i64);
    for connection in connections {
        let _ = connection.close().await;
    }
}
