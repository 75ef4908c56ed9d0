//! What callers see when the database fails under a running venues service: UNAVAILABLE
//! (with the generic reason, nothing of the cause) while it cannot be reached, nothing
//! half-written when a transaction is cut before its COMMIT, recovery when it is back, and
//! INTERNAL hiding the cause of an unexpected database error. And what a NATS outage does not
//! do: take the service out of rotation (`/readyz` stays 200, `/metrics` shows the outage and
//! the outbox backlog until the relay catches up).

use std::time::Duration;

use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_venues::demo::{self, paths};

use super::{TestApp, error_code};

/// Nothing of the database's own words (tables, columns, SQL, driver) in the errors'
/// messages and extensions of `response`.
fn assert_no_cause(response: &Value) {
    tongxin_testing::assert_no_cause(response, &["org_units"]);
}

const UNIT: &str = r#"query($id: ID!) { orgUnit(id: $id) { path } }"#;
const CREATE: &str =
    r#"mutation($input: CreateOrgUnitInput!) { createOrgUnit(input: $input) { id path } }"#;
const UNAVAILABLE_MESSAGE: &str = "a dependency is unavailable; try again shortly";

fn courtyard(code: &str) -> Value {
    json!({ "input": {
        "kind": "COURTYARD", "name": "断电小院", "code": code,
        "parentId": demo::unit_id(paths::HONGQIAO).to_string(),
        "location": { "lat": 29.39, "lon": 105.57 }
    }})
}

async fn units_and_events(app: &TestApp) -> (i64, i64) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let db = app.direct_db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (SELECT COUNT(*) FROM org_units) AS units, (SELECT COUNT(*) FROM outbox_events) AS events",
        ))
        .await
        .expect("count")
        .expect("row");
    let counts = (
        row.try_get("", "units").expect("units"),
        row.try_get("", "events").expect("events"),
    );
    let _ = db.close().await;
    counts
}

#[tokio::test]
async fn without_its_database_venues_answers_unavailable_and_recovers() {
    let app = TestApp::spawn_behind_proxy().await;
    let proxy = app.proxy().expect("proxy");
    let staff = app.token(&[Role::Staff], Some(paths::CENTER));
    let id = demo::unit_id(paths::YEHEWAN).to_string();
    let before = units_and_events(&app).await;
    let ok = app.graphql(None, UNIT, json!({ "id": id })).await;
    assert_eq!(ok["data"]["orgUnit"]["path"], paths::YEHEWAN, "{ok}");

    proxy.down();
    let read = app.graphql(None, UNIT, json!({ "id": id })).await;
    assert_eq!(error_code(&read), Some("UNAVAILABLE"), "{read}");
    assert_eq!(read["errors"][0]["message"], UNAVAILABLE_MESSAGE);
    assert_no_cause(&read);
    let write = app.graphql(Some(&staff), CREATE, courtyard("outage")).await;
    assert_eq!(error_code(&write), Some("UNAVAILABLE"), "{write}");
    assert_no_cause(&write);
    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let status = client
        .get_unit(request_as(
            pb::GetUnitRequest { id: id.clone() },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("no database");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(grpc_reason(&status).as_deref(), Some("UNAVAILABLE"));
    assert_eq!(status.message(), UNAVAILABLE_MESSAGE);
    let ready = reqwest::get(format!("http://{}/readyz", app.http))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    proxy.up();
    let back = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        let r = app.graphql(None, UNIT, json!({ "id": id })).await;
        r["data"]["orgUnit"]["path"] == paths::YEHEWAN
    })
    .await;
    assert!(back, "venues did not recover when its database came back");
    assert_eq!(
        units_and_events(&app).await,
        before,
        "the write refused during the outage stored nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_write_cut_before_its_commit_is_unavailable_and_leaves_nothing() {
    let app = TestApp::spawn_behind_proxy().await;
    let proxy = app.proxy().expect("proxy");
    let staff = app.token(&[Role::Staff], Some(paths::CENTER));
    let before = units_and_events(&app).await;

    // The unit and its event are written in one transaction; its COMMIT never arrives.
    proxy.cut_commit_of("cutbeforecommit");
    let cut = app
        .graphql(Some(&staff), CREATE, courtyard("cutbeforecommit"))
        .await;
    assert_eq!(proxy.cuts(), 1, "the transaction was cut: {cut}");
    assert_eq!(error_code(&cut), Some("UNAVAILABLE"), "{cut}");
    assert_eq!(cut["errors"][0]["message"], UNAVAILABLE_MESSAGE);
    assert_no_cause(&cut);
    assert_eq!(
        units_and_events(&app).await,
        before,
        "neither the unit nor its event"
    );

    // The same write again goes through whole: the unit and exactly one event.
    let done = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        let r = app
            .graphql(Some(&staff), CREATE, courtyard("cutbeforecommit"))
            .await;
        r["data"]["createOrgUnit"]["path"] == "/rc/changyuan/hongqiao/cutbeforecommit"
    })
    .await;
    assert!(done, "the write did not go through after the cut");
    assert_eq!(units_and_events(&app).await, (before.0 + 1, before.1 + 1));
    app.stop().await;
}

#[tokio::test]
async fn an_unexpected_database_error_is_internal_and_hides_its_cause() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let id = demo::unit_id(paths::YEHEWAN).to_string();
    // A schema the code does not expect (a botched migration, say).
    app.db
        .execute_unprepared("ALTER TABLE org_units RENAME COLUMN name TO name_before")
        .await
        .expect("rename");

    let r = app.graphql(None, UNIT, json!({ "id": id })).await;
    assert_eq!(error_code(&r), Some("INTERNAL_SERVER_ERROR"), "{r}");
    assert_eq!(r["errors"][0]["message"], "internal error");
    assert_no_cause(&r);
    assert!(!r.to_string().contains("name_before"), "{r}");

    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let status = client
        .get_unit(request_as(
            pb::GetUnitRequest { id },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("broken schema");
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    assert_eq!(
        grpc_reason(&status).as_deref(),
        Some("INTERNAL_SERVER_ERROR")
    );
    assert_eq!(status.message(), "internal error");
    app.stop().await;
}

/// One gauge's value from `/metrics` (`None` when it is not there yet).
async fn gauge(app: &TestApp, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://{}/metrics", app.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn ready_status(app: &TestApp) -> reqwest::StatusCode {
    reqwest::get(format!("http://{}/readyz", app.http))
        .await
        .expect("readyz")
        .status()
}

#[tokio::test]
async fn a_nats_outage_keeps_venues_ready_and_shows_on_metrics() {
    let mut app = TestApp::spawn().await;
    let staff = app.token(&[Role::Staff], Some(paths::CENTER));
    assert_eq!(ready_status(&app).await, reqwest::StatusCode::OK);
    assert_eq!(gauge(&app, "tongxin_event_bus_up").await, Some(1.0));

    app.nats.kill();
    let seen_down = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        gauge(&app, "tongxin_event_bus_up").await == Some(0.0)
    })
    .await;
    assert!(seen_down, "the bus gauge never showed the outage");
    // Ready means "can serve": the outbox keeps writes working without NATS.
    assert_eq!(ready_status(&app).await, reqwest::StatusCode::OK);
    let write = app
        .graphql(Some(&staff), CREATE, courtyard("natsdown"))
        .await;
    assert_eq!(
        write["data"]["createOrgUnit"]["path"],
        format!("{}/natsdown", paths::HONGQIAO),
        "{write}"
    );
    let backlog = gauge(&app, "tongxin_outbox_backlog").await;
    assert!(
        backlog >= Some(1.0),
        "the unpublished event is counted: {backlog:?}"
    );

    app.nats.restart().await;
    let caught_up = tongxin_testing::wait_until(Duration::from_secs(20), || async {
        gauge(&app, "tongxin_event_bus_up").await == Some(1.0)
            && gauge(&app, "tongxin_outbox_backlog").await == Some(0.0)
    })
    .await;
    assert!(
        caught_up,
        "the relay did not publish the backlog once NATS was back"
    );
    assert_eq!(ready_status(&app).await, reqwest::StatusCode::OK);
    app.stop().await;
}
