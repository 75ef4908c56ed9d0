//! Self-service corrections, deletion requests and erasure, status changes by scope.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tongxin_volunteers::domain::VolunteerId;
use tongxin_volunteers::domain::matching::VolunteerStatus;
use uuid::Uuid;

use crate::vsupport::*;
use crate::{REGISTER, TestApp, error_code, id_card, input, units};

const ID_ME: &str = "50015319900307123";
const ID_OTHER: &str = "50015319851111456";
const PHONE: &str = "13812345678";

const CORRECT_MINE: &str = r#"mutation($input: VolunteerCorrectionInput!) {
  updateMyVolunteerRecord(input: $input) { id name phone skills availability location { lat lon } idCardNumberMasked }
}"#;
const CORRECT: &str = r#"mutation($id: ID!, $input: VolunteerCorrectionInput!) {
  updateVolunteer(id: $id, input: $input) { id idCardNumberMasked gender }
}"#;
const STATUS: &str = r#"mutation($id: ID!, $status: VolunteerStatus!) {
  setVolunteerStatus(id: $id, status: $status) { id status }
}"#;

async fn register_self(app: &TestApp, token: &str, id: &str) -> String {
    let r = app
        .graphql(
            Some(token),
            REGISTER,
            json!({ "input": input(&id_card(id), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["registerVolunteer"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn row_text(app: &TestApp, id: &str) -> String {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT v::text AS t FROM volunteers v WHERE id = '{id}'"),
        ))
        .await
        .expect("query");
    rows[0].try_get("", "t").expect("t")
}

#[tokio::test]
async fn a_volunteer_corrects_their_record_but_not_the_id_number() {
    let app = TestApp::spawn().await;
    let mut updates = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.volunteer_updated")
        .await
        .expect("subscribe");
    let me = app.citizen("wechat:zhangsan");
    let id = register_self(&app, &me, ID_ME).await;

    let r = app
        .graphql(
            Some(&me),
            CORRECT_MINE,
            json!({ "input": {
                "name": "张三丰", "phone": "139 0000 1111", "skills": ["辅导"],
                "availability": "Sun 14:00-17:00", "location": { "lat": 29.41, "lon": 105.6 },
            } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let v = &r["data"]["updateMyVolunteerRecord"];
    assert_eq!(v["name"], "张三丰");
    assert_eq!(v["phone"], "13900001111");
    assert_eq!(v["skills"], json!(["tutoring"]));
    assert_eq!(v["availability"], "Sun 14:00-17:00");
    assert_eq!(v["location"]["lat"], 29.41);
    assert!(
        !row_text(&app, &id).await.contains("13900001111"),
        "phone encrypted"
    );

    let message = tokio::time::timeout(Duration::from_secs(10), updates.next())
        .await
        .expect("in time")
        .expect("event");
    let event =
        tongxin_proto::events::VolunteerUpdated::decode(message.payload.clone()).expect("protobuf");
    assert_eq!(event.volunteer_id, id);
    assert_eq!(
        event.changed_fields,
        vec!["name", "phone", "location", "skills", "availability"]
    );
    let raw = String::from_utf8_lossy(&message.payload);
    assert!(!raw.contains("13900001111") && !raw.contains("张三丰"));

    // The ID-card number is staff's to correct; bad input changes nothing.
    let r = app
        .graphql(
            Some(&me),
            CORRECT_MINE,
            json!({ "input": { "idCardNumber": id_card(ID_OTHER) } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    for bad in [
        json!({ "phone": "1390000111" }),
        json!({ "name": "  " }),
        json!({ "skills": ["juggling"] }),
        json!({ "availability": "sometimes" }),
        json!({ "location": { "lat": 99.0, "lon": 105.0 } }),
        json!({}),
    ] {
        let r = app
            .graphql(Some(&me), CORRECT_MINE, json!({ "input": bad }))
            .await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad}: {r}");
    }
    let r = app
        .graphql(Some(&me), "{ myVolunteerRecord { name phone } }", json!({}))
        .await;
    assert_eq!(r["data"]["myVolunteerRecord"]["name"], "张三丰");
    assert_eq!(r["data"]["myVolunteerRecord"]["phone"], "13900001111");
    // Someone without a record has nothing to correct.
    let r = app
        .graphql(
            Some(&app.citizen("wechat:nobody")),
            CORRECT_MINE,
            json!({ "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    // Staff in scope correct the ID-card number; one registered to someone else conflicts.
    let staff = app.staff(units::CHANGYUAN);
    let other = app.citizen("wechat:lisi");
    let r = app
        .graphql(
            Some(&other),
            REGISTER,
            json!({ "input": input(&id_card(ID_OTHER), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app
        .graphql(
            Some(&staff),
            CORRECT,
            json!({ "id": id, "input": { "idCardNumber": id_card(ID_OTHER) } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let fixed = id_card("50015320000101002");
    let r = app
        .graphql(
            Some(&staff),
            CORRECT,
            json!({ "id": id, "input": { "idCardNumber": fixed } }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(r["data"]["updateVolunteer"]["gender"], "FEMALE");
    assert!(
        r["data"]["updateVolunteer"]["idCardNumberMasked"]
            .as_str()
            .expect("masked")
            .ends_with(&fixed[17..])
    );
    let r = app
        .graphql(
            Some(&app.staff(units::FENGGAO)),
            CORRECT,
            json!({ "id": id, "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    app.stop().await;
}

const REQUEST_DELETION: &str =
    r#"mutation { requestDeletion(reason: "moving away") { id deletionRequestedAt erased } }"#;
const PROCESS_DELETION: &str = r#"mutation($id: ID!) {
  processDeletion(id: $id) { id volunteerNo name phone idCardNumberMasked status erased }
}"#;

#[tokio::test]
async fn deletion_is_requested_then_erased_by_staff_in_scope() {
    let app = TestApp::spawn().await;
    let mut erased = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.volunteer_erased")
        .await
        .expect("subscribe");
    let me = app.citizen("wechat:zhangsan");
    let id = register_self(&app, &me, ID_ME).await;
    let staff = app.staff(units::HONGQIAO);

    // Nothing to process before the volunteer asks.
    let r = app
        .graphql(Some(&staff), PROCESS_DELETION, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let r = app.graphql(Some(&me), REQUEST_DELETION, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(r["data"]["requestDeletion"]["deletionRequestedAt"].is_string());
    assert_eq!(r["data"]["requestDeletion"]["erased"], false);
    let r = app.graphql(Some(&me), REQUEST_DELETION, json!({})).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let r = app
        .graphql(
            Some(&app.staff(units::FENGGAO)),
            PROCESS_DELETION,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(Some(&me), PROCESS_DELETION, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

    let number_before = {
        let r = app
            .graphql(
                None,
                "query($id: ID!) { volunteer(id: $id) { volunteerNo } }",
                json!({ "id": id }),
            )
            .await;
        r["data"]["volunteer"]["volunteerNo"].clone()
    };
    let r = app
        .graphql(Some(&staff), PROCESS_DELETION, json!({ "id": id }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let v: &Value = &r["data"]["processDeletion"];
    assert_eq!(v["volunteerNo"], number_before, "the number stays");
    assert_eq!(v["name"], "（已删除）");
    assert_eq!(v["phone"], "");
    assert_eq!(v["idCardNumberMasked"], "");
    assert_eq!(v["status"], "LEFT");
    assert_eq!(v["erased"], true);
    let text = row_text(&app, &id).await;
    assert!(!text.contains("张三"), "name gone: {text}");
    // Both ciphertexts are empty now.
    assert_eq!(text.matches(",\"\\\\x\",").count(), 2, "{text}");
    let r = app
        .graphql(Some(&staff), PROCESS_DELETION, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let r = app
        .graphql(
            Some(&staff),
            STATUS,
            json!({ "id": id, "status": "ACTIVE" }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let message = tokio::time::timeout(Duration::from_secs(10), erased.next())
        .await
        .expect("in time")
        .expect("event");
    let event =
        tongxin_proto::events::VolunteerErased::decode(message.payload.clone()).expect("protobuf");
    assert_eq!(event.volunteer_id, id);

    // The account link is cut and the same person may register again.
    let r = app
        .graphql(Some(&me), "{ myVolunteerRecord { id } }", json!({}))
        .await;
    assert!(r["data"]["myVolunteerRecord"].is_null(), "{r}");
    let again = register_self(&app, &me, ID_ME).await;
    assert_ne!(again, id);
    app.stop().await;
}

#[tokio::test]
async fn status_changes_need_staff_in_scope_and_one_of_two_wins() {
    let app = TestApp::spawn().await;
    let mut changes = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.volunteer_status_changed")
        .await
        .expect("subscribe");
    let me = app.citizen("wechat:zhangsan");
    let id = register_self(&app, &me, ID_ME).await;

    for (who, token) in [
        ("the volunteer", me.clone()),
        ("staff elsewhere", app.staff(units::FENGGAO)),
    ] {
        let r = app
            .graphql(
                Some(&token),
                STATUS,
                json!({ "id": id, "status": "PAUSED" }),
            )
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{who}: {r}");
    }
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            STATUS,
            json!({ "id": Uuid::now_v7().to_string(), "status": "PAUSED" }),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            STATUS,
            json!({ "id": id, "status": "PAUSED" }),
        )
        .await;
    assert_eq!(r["data"]["setVolunteerStatus"]["status"], "PAUSED", "{r}");
    let message = tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("in time")
        .expect("event");
    let event = tongxin_proto::events::VolunteerStatusChanged::decode(message.payload.clone())
        .expect("protobuf");
    assert_eq!(
        (event.previous_status.as_str(), event.status.as_str()),
        ("active", "paused")
    );

    // Eight staff calls end the paused volunteer's service at once: exactly one change is
    // recorded; the others find it done or lose the conditional update (CONFLICT).
    let vid = VolunteerId(Uuid::parse_str(&id).expect("uuid"));
    let principal = staff_principal(units::HONGQIAO);
    let results = futures::future::join_all((0..8).map(|_| {
        app.volunteers
            .set_status(&principal, vid, VolunteerStatus::Left)
    }))
    .await;
    for r in results {
        if let Err(e) = r {
            assert_eq!(
                tongxin_platform::ApiError::from(e).code,
                tongxin_platform::ErrorCode::Conflict
            );
        }
    }
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM outbox_events WHERE subject = 'tongxin.volunteers.volunteer_status_changed'",
        ))
        .await
        .expect("count");
    let n: i64 = rows[0].try_get("", "n").expect("n");
    assert_eq!(n, 2, "paused once, left once");
    app.stop().await;
}

const DELETION_REQUESTS: &str = r#"query($unit: String, $first: Int, $after: String) {
  deletionRequests(unitPath: $unit, first: $first, after: $after) {
    edges { cursor node { id homeUnitPath deletionRequestedAt deletionReason } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"#;

/// Registers `subject` themself at `path` with ID number `seq`; returns the id.
async fn register_at(app: &TestApp, subject: &str, seq: u32, path: &str) -> String {
    let r = app
        .graphql(
            Some(&app.citizen(subject)),
            REGISTER,
            json!({ "input": input(&id_card(&format!("50015319900307{seq:03}")), PHONE, path) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["registerVolunteer"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn ask_deletion(app: &TestApp, subject: &str, reason: &str) {
    let r = app
        .graphql(
            Some(&app.citizen(subject)),
            "mutation($r: String) { requestDeletion(reason: $r) { id } }",
            json!({ "r": reason }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
}

async fn requests(app: &TestApp, token: &str, vars: Value) -> (Vec<String>, Value) {
    let r = app.graphql(Some(token), DELETION_REQUESTS, vars).await;
    assert!(r["errors"].is_null(), "{r}");
    let ids = r["data"]["deletionRequests"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    (ids, r)
}

#[tokio::test]
async fn staff_see_pending_deletion_requests_in_scope_oldest_first() {
    let app = TestApp::spawn().await;
    let at_changyuan = register_at(&app, "wechat:a", 501, units::CHANGYUAN).await;
    let at_hongqiao = register_at(&app, "wechat:b", 502, units::HONGQIAO).await;
    let at_fenggao = register_at(&app, "wechat:c", 503, units::FENGGAO).await;
    let processed = register_at(&app, "wechat:d", 504, units::HONGQIAO).await;
    let _no_request = register_at(&app, "wechat:e", 505, units::HONGQIAO).await;
    // Requests in this order: 昌元, 虹桥 (erased below), 峰高, 虹桥.
    ask_deletion(&app, "wechat:a", "moving away").await;
    ask_deletion(&app, "wechat:d", "no time").await;
    ask_deletion(&app, "wechat:c", "privacy").await;
    ask_deletion(&app, "wechat:b", "").await;
    let hongqiao = app.staff(units::HONGQIAO);
    let r = app
        .graphql(
            Some(&hongqiao),
            "mutation($id: ID!) { processDeletion(id: $id) { erased } }",
            json!({ "id": processed }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    // The whole scope, oldest first; processed and unrequested ones are not listed.
    let changyuan = app.staff(units::CHANGYUAN);
    let (ids, r) = requests(&app, &changyuan, json!({})).await;
    assert_eq!(ids, vec![at_changyuan.clone(), at_hongqiao.clone()], "{r}");
    let first = &r["data"]["deletionRequests"]["edges"][0]["node"];
    assert_eq!(first["homeUnitPath"], units::CHANGYUAN);
    assert_eq!(first["deletionReason"], "moving away");
    assert!(first["deletionRequestedAt"].is_string());
    assert!(r["data"]["deletionRequests"]["edges"][1]["node"]["deletionReason"].is_null());

    // Paged one by one.
    let (ids, r) = requests(&app, &changyuan, json!({ "first": 1 })).await;
    assert_eq!(ids, vec![at_changyuan.clone()]);
    let page = &r["data"]["deletionRequests"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true, "{r}");
    let (ids, r) = requests(
        &app,
        &changyuan,
        json!({ "first": 1, "after": page["endCursor"] }),
    )
    .await;
    assert_eq!(ids, vec![at_hongqiao.clone()]);
    assert_eq!(
        r["data"]["deletionRequests"]["pageInfo"]["hasNextPage"],
        false
    );
    assert_eq!(
        r["data"]["deletionRequests"]["pageInfo"]["hasPreviousPage"],
        true
    );

    // A subtree inside the scope; staff of another street see only theirs.
    let (ids, _) = requests(&app, &changyuan, json!({ "unit": units::HONGQIAO })).await;
    assert_eq!(ids, vec![at_hongqiao.clone()]);
    let (ids, _) = requests(&app, &hongqiao, json!({})).await;
    assert_eq!(ids, vec![at_hongqiao.clone()]);
    let (ids, _) = requests(&app, &app.staff(units::FENGGAO), json!({})).await;
    assert_eq!(ids, vec![at_fenggao]);

    // Outside the scope, not staff, no token, bad input.
    for (token, vars) in [
        (&hongqiao, json!({ "unit": units::CHANGYUAN })),
        (&changyuan, json!({ "unit": units::FENGGAO })),
        (&app.citizen("wechat:a"), json!({})),
        (&app.citizen("wechat:nobody"), json!({})),
    ] {
        let r = app.graphql(Some(token), DELETION_REQUESTS, vars).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    }
    let volunteer = app.sign_volunteer("wechat:b");
    let r = app
        .graphql(Some(&volunteer), DELETION_REQUESTS, json!({}))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app.graphql(None, DELETION_REQUESTS, json!({})).await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    for vars in [
        json!({ "first": 0 }),
        json!({ "after": "not-a-cursor" }),
        json!({ "unit": "not a path" }),
    ] {
        let r = app.graphql(Some(&changyuan), DELETION_REQUESTS, vars).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    }

    // Only staff in scope and the volunteer read the reason.
    let r = app
        .graphql(
            Some(&app.staff(units::FENGGAO)),
            "query($id: ID!) { volunteer(id: $id) { deletionReason } }",
            json!({ "id": at_changyuan }),
        )
        .await;
    assert!(r["data"]["volunteer"]["deletionReason"].is_null(), "{r}");
    let r = app
        .graphql(
            Some(&app.citizen("wechat:a")),
            "query($id: ID!) { volunteer(id: $id) { deletionReason } }",
            json!({ "id": at_changyuan }),
        )
        .await;
    assert_eq!(
        r["data"]["volunteer"]["deletionReason"], "moving away",
        "{r}"
    );
    app.stop().await;
}
