//! Org-tree completion: ancestors, subtrees, moves, renames, contacts.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use serde_json::json;
use tongxin_platform::auth::Role;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_venues::demo::{self, paths};

use super::{TestApp, error_code};

fn paths_of(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|u| u["path"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn ancestors_and_subtree() {
    let app = TestApp::spawn().await;
    let response = app
        .graphql(
            None,
            r#"query($id: ID!, $top: ID!) {
                courtyard: orgUnit(id: $id) { ancestors { path kind } }
                street: orgUnit(id: $top) { subtree(kind: COURTYARD) { edges { node { path } } } }
            }"#,
            json!({ "id": demo::unit_id(paths::CAIJIABA).to_string(), "top": demo::unit_id(paths::CHANGYUAN).to_string() }),
        )
        .await;
    assert_eq!(
        paths_of(&response["data"]["courtyard"]["ancestors"]),
        vec![paths::HONGQIAO, paths::CHANGYUAN, paths::CENTER],
        "{response}"
    );
    let courtyards: Vec<&str> = response["data"]["street"]["subtree"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["path"].as_str())
        .collect();
    assert_eq!(
        courtyards,
        vec![paths::CAIJIABA, "/rc/changyuan/huangjinpo/chongchengmeian"]
    );

    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let chain = client
        .ancestors(request_as(
            pb::AncestorsRequest {
                id: demo::unit_id(paths::YEHEWAN).to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("ancestors")
        .into_inner();
    let chain: Vec<&str> = chain.units.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(
        chain,
        vec![
            paths::YEHEWAN,
            "/rc/zhisheng/rongsheng",
            "/rc/zhisheng",
            "/rc"
        ]
    );
    app.stop().await;
}

const MOVE: &str = r#"mutation($id: ID!, $to: ID!) { moveOrgUnit(id: $id, newParentId: $to) { path parent { path } } }"#;

#[tokio::test]
async fn moving_a_station_moves_its_subtree_and_publishes() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.venues.unit_updated")
        .await
        .expect("subscribe");
    let hongqiao = demo::unit_id(paths::HONGQIAO).to_string();
    let fenggao = demo::unit_id("/rc/fenggao").to_string();

    // Staff of 昌元 may not put it into 峰高: they do not hold the destination.
    let street_staff = app.token(&[Role::Staff], Some(paths::CHANGYUAN));
    let refused = app
        .graphql(
            Some(&street_staff),
            MOVE,
            json!({ "id": hongqiao, "to": fenggao }),
        )
        .await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");

    let center_staff = app.token(&[Role::Staff], Some(paths::CENTER));
    let bad_level = app
        .graphql(
            Some(&center_staff),
            MOVE,
            json!({ "id": hongqiao, "to": demo::unit_id(paths::YEHEWAN).to_string() }),
        )
        .await;
    assert_eq!(
        error_code(&bad_level),
        Some("BAD_USER_INPUT"),
        "{bad_level}"
    );
    let center = app
        .graphql(
            Some(&center_staff),
            MOVE,
            json!({ "id": demo::unit_id(paths::CENTER).to_string(), "to": fenggao }),
        )
        .await;
    assert_eq!(error_code(&center), Some("BAD_USER_INPUT"), "{center}");

    let moved = app
        .graphql(
            Some(&center_staff),
            MOVE,
            json!({ "id": hongqiao, "to": fenggao }),
        )
        .await;
    assert_eq!(
        moved["data"]["moveOrgUnit"]["path"], "/rc/fenggao/hongqiao",
        "{moved}"
    );
    assert_eq!(
        moved["data"]["moveOrgUnit"]["parent"]["path"],
        "/rc/fenggao"
    );

    let courtyard = app
        .graphql(
            None,
            "query($id: ID!) { orgUnit(id: $id) { path ancestors { path } } }",
            json!({ "id": demo::unit_id(paths::CAIJIABA).to_string() }),
        )
        .await;
    assert_eq!(
        courtyard["data"]["orgUnit"]["path"], "/rc/fenggao/hongqiao/caijiaba",
        "the subtree moved along"
    );
    assert_eq!(
        paths_of(&courtyard["data"]["orgUnit"]["ancestors"]),
        vec!["/rc/fenggao/hongqiao", "/rc/fenggao", "/rc"]
    );

    let message = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("in time")
        .expect("event");
    let event = tongxin_proto::events::UnitUpdated::decode(message.payload).expect("protobuf");
    assert_eq!(event.change, "moved");
    assert_eq!(event.old_path, paths::HONGQIAO);
    assert_eq!(event.unit.expect("unit").path, "/rc/fenggao/hongqiao");
    app.stop().await;
}

#[tokio::test]
async fn rename_and_contacts_with_masked_phones() {
    let app = TestApp::spawn().await;
    let staff = app.token(&[Role::Staff], Some(paths::HONGQIAO));
    let renamed = app
        .graphql(
            Some(&staff),
            r#"mutation($id: ID!) { renameOrgUnit(id: $id, name: "蔡家坝田园小院") { name } }"#,
            json!({ "id": demo::unit_id(paths::CAIJIABA).to_string() }),
        )
        .await;
    assert_eq!(
        renamed["data"]["renameOrgUnit"]["name"], "蔡家坝田园小院",
        "{renamed}"
    );

    const ADD: &str = r#"mutation($u: ID!, $p: String!) { addUnitContact(unitId: $u, name: "陶功甫", title: "站长", phone: $p) { id phone } }"#;
    let unit = demo::unit_id(paths::HONGQIAO).to_string();
    let bad = app
        .graphql(Some(&staff), ADD, json!({ "u": unit, "p": "12345" }))
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
    let added = app
        .graphql(
            Some(&staff),
            ADD,
            json!({ "u": unit, "p": "138 0013 8000" }),
        )
        .await;
    assert_eq!(
        added["data"]["addUnitContact"]["phone"], "13800138000",
        "{added}"
    );

    const READ: &str = r#"query($u: ID!) { orgUnit(id: $u) { contacts { name title phone } } }"#;
    let anonymous = app.graphql(None, READ, json!({ "u": unit })).await;
    assert_eq!(
        anonymous["data"]["orgUnit"]["contacts"][0]["phone"], "138****8000",
        "{anonymous}"
    );
    let outsider = app.token(&[Role::Staff], Some("/rc/fenggao"));
    let other = app
        .graphql(Some(&outsider), READ, json!({ "u": unit }))
        .await;
    assert_eq!(
        other["data"]["orgUnit"]["contacts"][0]["phone"], "138****8000",
        "staff of another street see it masked"
    );
    let own = app.graphql(Some(&staff), READ, json!({ "u": unit })).await;
    assert_eq!(
        own["data"]["orgUnit"]["contacts"][0]["phone"],
        "13800138000"
    );

    // At rest the row holds no digits of the phone: the clear column is empty and the
    // sealed one does not contain the number.
    use sea_orm::EntityTrait;
    let rows = tongxin_venues::store::contacts::Entity::find()
        .all(&app.direct_db().await)
        .await
        .expect("contacts");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].phone, "");
    let sealed = rows[0].phone_cipher.clone().expect("sealed");
    for digits in ["13800138000", "0013", "8000"] {
        assert!(
            !String::from_utf8_lossy(&sealed).contains(digits),
            "{digits} in the sealed column"
        );
    }
    app.stop().await;
}

/// Contacts stored in clear before phones were sealed are sealed by the start-up step, and
/// read back the same.
#[tokio::test]
async fn clear_contact_phones_are_sealed_once() {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    use tongxin_venues::store::contacts;
    let app = TestApp::spawn().await;
    let db = app.direct_db().await;
    let id = uuid::Uuid::now_v7();
    contacts::Entity::insert(contacts::ActiveModel {
        id: Set(id),
        unit_id: Set(demo::unit_id(paths::HONGQIAO).0),
        name: Set("陶功甫".to_owned()),
        title: Set("站长".to_owned()),
        phone: Set("13800138000".to_owned()),
        phone_cipher: Set(None),
        created_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(&db)
    .await
    .expect("a clear row, as before sealing");
    let cipher = tongxin_platform::pii::PiiCipher::new(&[7; 32]);
    assert_eq!(
        contacts::seal_clear_phones(&db, &cipher)
            .await
            .expect("seal"),
        1
    );
    let row = contacts::get(&db, id).await.expect("get").expect("row");
    assert_eq!(row.phone, "");
    let sealed = row.phone_cipher.expect("sealed");
    assert_eq!(cipher.decrypt(&sealed).expect("opens"), "13800138000");
    // Nothing left to seal: a second start changes nothing.
    assert_eq!(
        contacts::seal_clear_phones(&db, &cipher)
            .await
            .expect("seal"),
        0
    );
    app.stop().await;
}
