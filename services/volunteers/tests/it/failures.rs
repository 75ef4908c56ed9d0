//! What callers see when the database fails under a running volunteers service: UNAVAILABLE
//! (with the generic reason, nothing of the cause) while it cannot be reached, nothing
//! half-written when a registration is cut before its COMMIT, recovery when it is back, and
//! INTERNAL hiding the cause of an unexpected database error, of stored data that cannot
//! be decrypted, or of a stored status, source or gender that is not one (never read as a
//! default).

use std::time::Duration;

use serde_json::{Value, json};
use tongxin_platform::auth::Principal;
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;

use crate::vsupport::staff_principal;
use crate::{REGISTER, TestApp, error_code, id_card, input, units};

/// Nothing of the cause (tables, columns, SQL, driver, cipher) in the errors' messages and
/// extensions of `response`.
fn assert_no_cause(response: &Value) {
    tongxin_testing::assert_no_cause(response, &["volunteers", "cipher", "decrypt", "aes"]);
}

const VOLUNTEER: &str = r#"query($id: ID!) { volunteer(id: $id) { id phone } }"#;
const UNAVAILABLE_MESSAGE: &str = "a dependency is unavailable; try again shortly";

/// Registers a volunteer named `name` at 虹桥 as staff of 昌元; the response.
async fn register_named(app: &TestApp, seq: u32, name: &str) -> Value {
    let mut volunteer = input(
        &id_card(&format!("50015319900307{seq:03}")),
        &format!("1381234{seq:04}"),
        units::HONGQIAO,
    );
    volunteer["name"] = json!(name);
    app.graphql(
        Some(&app.staff(units::CHANGYUAN)),
        REGISTER,
        json!({ "input": volunteer }),
    )
    .await
}

async fn volunteers_and_events(app: &TestApp) -> (i64, i64) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let db = app.direct_db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (SELECT COUNT(*) FROM volunteers) AS people, (SELECT COUNT(*) FROM outbox_events) AS events",
        ))
        .await
        .expect("count")
        .expect("row");
    let counts = (
        row.try_get("", "people").expect("people"),
        row.try_get("", "events").expect("events"),
    );
    let _ = db.close().await;
    counts
}

async fn get_volunteer(app: &TestApp, id: &str, as_: &Principal) -> tonic::Status {
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    client
        .get_volunteer(request_as(
            pb::GetVolunteerRequest { id: id.to_owned() },
            Some(&app.credential(as_)),
        ))
        .await
        .expect_err("an error")
}

#[tokio::test]
async fn without_its_database_volunteers_answers_unavailable_and_recovers() {
    let app = TestApp::spawn_behind_proxy().await;
    let proxy = app.proxy().expect("proxy");
    let staff = app.staff(units::CHANGYUAN);
    let registered = register_named(&app, 1, "张三").await;
    let id = registered["data"]["registerVolunteer"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{registered}"))
        .to_owned();
    let before = volunteers_and_events(&app).await;

    proxy.down();
    let read = app
        .graphql(Some(&staff), VOLUNTEER, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&read), Some("UNAVAILABLE"), "{read}");
    assert_eq!(read["errors"][0]["message"], UNAVAILABLE_MESSAGE);
    assert_no_cause(&read);
    let write = register_named(&app, 2, "李四").await;
    assert_eq!(error_code(&write), Some("UNAVAILABLE"), "{write}");
    assert_no_cause(&write);
    let status = get_volunteer(&app, &id, &staff_principal(units::CHANGYUAN)).await;
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(grpc_reason(&status).as_deref(), Some("UNAVAILABLE"));
    assert_eq!(status.message(), UNAVAILABLE_MESSAGE);
    let ready = reqwest::get(format!("http://{}/readyz", app.http))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    proxy.up();
    let back = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        let r = app
            .graphql(Some(&staff), VOLUNTEER, json!({ "id": id }))
            .await;
        r["data"]["volunteer"]["id"] == id.as_str()
    })
    .await;
    assert!(
        back,
        "volunteers did not recover when its database came back"
    );
    assert_eq!(
        volunteers_and_events(&app).await,
        before,
        "the registration refused during the outage stored nothing"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_registration_cut_before_its_commit_is_unavailable_and_leaves_nothing() {
    let app = TestApp::spawn_behind_proxy().await;
    let proxy = app.proxy().expect("proxy");
    let before = volunteers_and_events(&app).await;

    // The record and its event are written in one transaction; its COMMIT never arrives.
    proxy.cut_commit_of("Cutbeforecommit");
    let cut = register_named(&app, 3, "Cutbeforecommit").await;
    assert_eq!(proxy.cuts(), 1, "the transaction was cut: {cut}");
    assert_eq!(error_code(&cut), Some("UNAVAILABLE"), "{cut}");
    assert_eq!(cut["errors"][0]["message"], UNAVAILABLE_MESSAGE);
    assert_no_cause(&cut);
    assert_eq!(
        volunteers_and_events(&app).await,
        before,
        "neither the record nor its event"
    );

    // The same registration again goes through whole (no CONFLICT from a half-written
    // first attempt): the record and exactly one event.
    let done = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        let r = register_named(&app, 3, "Cutbeforecommit").await;
        r["data"]["registerVolunteer"]["name"] == "Cutbeforecommit"
    })
    .await;
    assert!(done, "the registration did not go through after the cut");
    assert_eq!(
        volunteers_and_events(&app).await,
        (before.0 + 1, before.1 + 1)
    );
    app.stop().await;
}

#[tokio::test]
async fn unexpected_failures_are_internal_and_hide_their_cause() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let mut ids = Vec::new();
    for (seq, name) in [(4, "王五"), (5, "赵六")] {
        let r = register_named(&app, seq, name).await;
        ids.push(
            r["data"]["registerVolunteer"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned(),
        );
    }
    let internal = |r: &Value| {
        assert_eq!(error_code(r), Some("INTERNAL_SERVER_ERROR"), "{r}");
        assert_eq!(r["errors"][0]["message"], "internal error");
        assert_no_cause(r);
    };
    let internal_status = |status: &tonic::Status| {
        assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
        assert_eq!(
            grpc_reason(status).as_deref(),
            Some("INTERNAL_SERVER_ERROR")
        );
        assert_eq!(status.message(), "internal error");
    };

    // A stored phone that no longer decrypts (a damaged row, or a rotated key).
    app.db
        .execute_unprepared(&format!(
            "UPDATE volunteers SET phone_cipher = '\\x00'::bytea WHERE id = '{}'",
            ids[0]
        ))
        .await
        .expect("damage");
    internal(
        &app.graphql(Some(&staff), VOLUNTEER, json!({ "id": ids[0] }))
            .await,
    );
    internal_status(&get_volunteer(&app, &ids[0], &staff_principal(units::CHANGYUAN)).await);
    let intact = app
        .graphql(Some(&staff), VOLUNTEER, json!({ "id": ids[1] }))
        .await;
    assert_eq!(
        intact["data"]["volunteer"]["id"],
        ids[1].as_str(),
        "{intact}"
    );

    // A schema the code does not expect (a botched migration, say).
    app.db
        .execute_unprepared("ALTER TABLE volunteers RENAME COLUMN name TO name_before")
        .await
        .expect("rename");
    let r = app
        .graphql(Some(&staff), VOLUNTEER, json!({ "id": ids[1] }))
        .await;
    internal(&r);
    assert!(!r.to_string().contains("name_before"), "{r}");
    internal_status(&get_volunteer(&app, &ids[1], &staff_principal(units::CHANGYUAN)).await);
    app.stop().await;
}

#[tokio::test]
async fn stored_names_that_are_not_one_are_internal_never_a_default() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let r = register_named(&app, 6, "孙七").await;
    let id = r["data"]["registerVolunteer"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let r = app
        .graphql(
            Some(&staff),
            crate::ledger::RECORD,
            crate::ledger::hours(&id, 2.0, "2026-11-20"),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    const ENTRIES: &str = r#"query($v: ID) { hoursEntries(volunteerId: $v) { edges { node { id status source } } } }"#;
    const STATUS: &str = r#"query($id: ID!) { volunteer(id: $id) { id status } }"#;
    let ok = app.graphql(Some(&staff), ENTRIES, json!({ "v": id })).await;
    assert_eq!(
        ok["data"]["hoursEntries"]["edges"][0]["node"]["status"], "PENDING",
        "{ok}"
    );
    let internal = |what: &str, r: &Value| {
        assert_eq!(error_code(r), Some("INTERNAL_SERVER_ERROR"), "{what}: {r}");
        assert_eq!(r["errors"][0]["message"], "internal error", "{what}: {r}");
        assert_no_cause(r);
    };
    for (what, column) in [("an entry status", "status"), ("an entry source", "source")] {
        app.db
            .execute_unprepared(&format!(
                "UPDATE hours_entries SET {column} = 'maybe' WHERE volunteer_id = '{id}'"
            ))
            .await
            .expect("damage");
        internal(
            what,
            &app.graphql(Some(&staff), ENTRIES, json!({ "v": id })).await,
        );
        app.db
            .execute_unprepared(&format!(
                "UPDATE hours_entries SET status = 'pending', source = 'manual' WHERE volunteer_id = '{id}'"
            ))
            .await
            .expect("repair");
    }
    app.db
        .execute_unprepared(&format!(
            "UPDATE volunteers SET status = 'maybe' WHERE id = '{id}'"
        ))
        .await
        .expect("damage");
    internal(
        "a volunteer status",
        &app.graphql(Some(&staff), STATUS, json!({ "id": id })).await,
    );
    app.db
        .execute_unprepared(&format!(
            "UPDATE volunteers SET status = 'active', gender = 'x' WHERE id = '{id}'"
        ))
        .await
        .expect("damage");
    internal(
        "a gender",
        &app.graphql(
            Some(&staff),
            r#"query($id: ID!) { volunteer(id: $id) { id gender } }"#,
            json!({ "id": id }),
        )
        .await,
    );
    app.stop().await;
}
