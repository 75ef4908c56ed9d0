//! Account linking (issue 13, item 2): staff invite an imported volunteer and a fresh account
//! redeems the code; a person claims their record with the ID-card number and phone on file;
//! codes work once and expire; guessing is bounded; staff in scope unlink; every step is in
//! the audit; the invite event carries no personal data.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tongxin_platform::auth::{Credential, Principal, Role};
use tongxin_platform::grpc::request_as;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tongxin_volunteers::import::{ImportOptions, Quiet, read_file};

use crate::{REGISTER, TestApp, error_code, id_card, input, units};

const ID_WANG: &str = "50015319880512002";
const PHONE_WANG: &str = "13800000001";

const INVITE: &str = r#"mutation($v: ID!) {
  inviteVolunteerAccount(volunteerId: $v) { volunteerId code expiresAt }
}"#;
const REDEEM: &str = r#"mutation($code: String!) {
  redeemAccountInvite(code: $code) { id phone phoneMasked }
}"#;
const CLAIM: &str = r#"mutation($id: String!, $phone: String!) {
  claimVolunteerRecord(idCardNumber: $id, phone: $phone) { id phone }
}"#;
const UNLINK: &str = r#"mutation($v: ID!) { unlinkVolunteerAccount(volunteerId: $v) { id } }"#;
const LINKS: &str = r#"query($v: ID!) {
  accountLinks(volunteerId: $v) { edges { node { action method account actor at } } }
}"#;
const MINE: &str = "{ myVolunteerRecord { id } }";

/// Imports 王芳 of 虹桥 as `tongxin import volunteers` does (staff-side, no account); her id.
async fn import_wang(app: &TestApp) -> String {
    let csv = format!(
        "姓名,身份证号,手机号,所属单位,技能,服务时间,纬度,经度\n\
         王芳,{},{PHONE_WANG},{},legal,Sat-Sun 09:00-12:00,29.40,105.59\n",
        id_card(ID_WANG),
        units::HONGQIAO,
    );
    app.volunteers
        .remember_unit_details(
            units::id(units::HONGQIAO),
            units::HONGQIAO,
            "虹桥社区新时代文明实践站",
            (29.3921, 105.5782),
        )
        .await
        .expect("unit");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("register.csv");
    std::fs::write(&path, csv).expect("write");
    let report = app
        .volunteers
        .import(
            read_file(&path).expect("csv"),
            &ImportOptions {
                skip_bad_rows: false,
                default_unit: None,
                actor: "import:test".to_owned(),
            },
            &Quiet,
        )
        .await
        .expect("import");
    assert_eq!(report.imported, 1, "{:?}", report.errors);
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            "{ volunteers(first: 5) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    r["data"]["volunteers"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

async fn invite(app: &TestApp, staff: &str, volunteer: &str) -> Value {
    app.graphql(Some(staff), INVITE, json!({ "v": volunteer }))
        .await
}

fn code_of(r: &Value) -> String {
    r["data"]["inviteVolunteerAccount"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

async fn mine(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), MINE, json!({})).await["data"]["myVolunteerRecord"]["id"].clone()
}

/// `(action, method)` of every audit row of `volunteer`, oldest first, as staff see them.
async fn history(app: &TestApp, volunteer: &str) -> Vec<(String, String)> {
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            LINKS,
            json!({ "v": volunteer }),
        )
        .await;
    r["data"]["accountLinks"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| {
            (
                e["node"]["action"].as_str().unwrap_or_default().to_owned(),
                e["node"]["method"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, m)| ((*a).to_owned(), (*m).to_owned()))
        .collect()
}

#[tokio::test]
async fn an_imported_volunteer_is_invited_and_a_fresh_account_redeems_the_code() {
    let app = TestApp::spawn().await;
    let mut issued = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.account_invite_issued")
        .await
        .expect("subscribe");
    let wang = import_wang(&app).await;
    let staff = app.staff(units::HONGQIAO);

    let r = invite(&app, &staff, &wang).await;
    assert!(r["errors"].is_null(), "{r}");
    let code = code_of(&r);
    assert_eq!(code.len(), 14, "{code}");

    // The delivery channel gets the code and ids: no phone, name or ID-card number.
    let message = tokio::time::timeout(Duration::from_secs(10), issued.next())
        .await
        .expect("in time")
        .expect("event");
    let event = tongxin_proto::events::AccountInviteIssued::decode(message.payload.clone())
        .expect("protobuf");
    assert_eq!(event.volunteer_id, wang);
    assert_eq!(event.code, code);
    assert_eq!(event.home_unit_path, units::HONGQIAO);
    let raw = String::from_utf8_lossy(&message.payload);
    for personal in [PHONE_WANG, "王芳", &id_card(ID_WANG), "138****0001"] {
        assert!(!raw.contains(personal), "{personal} in the event");
    }
    // The channel asks where to send it, with its own service credential: the phone in
    // full, while the invite is open; a person's token (even staff in scope) gets nothing.
    let mut grpc = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let ask = |credential: Credential| {
        request_as(
            pb::GetInviteDeliveryRequest {
                invite_id: event.invite_id.clone(),
            },
            Some(&credential),
        )
    };
    let delivery = grpc
        .get_invite_delivery(ask(app.service_credential()))
        .await
        .expect("the channel reads the address")
        .into_inner();
    assert_eq!(delivery.phone, PHONE_WANG);
    assert_eq!(delivery.volunteer_id, wang);
    let staff_principal = Principal {
        subject: "staff-hongqiao".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(units::id(units::HONGQIAO)),
        district: Some("rc".to_owned()),
        credential: None,
    };
    let refused = grpc
        .get_invite_delivery(ask(app.credential(&staff_principal)))
        .await
        .expect_err("staff read phones by scope, not here");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    // The code itself is stored only as its keyed hash.
    let stored = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT a::text AS t FROM account_invites a",
        ))
        .await
        .expect("query");
    let stored: String = stored[0].try_get("", "t").expect("t");
    assert!(!stored.contains(&code.replace('-', "")), "{stored}");

    // A fresh account (volunteer role, as the mini-program signs in) redeems it.
    let me = app.sign_volunteer("wechat:wangfang");
    assert!(mine(&app, &me).await.is_null());
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": code.to_lowercase() }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(r["data"]["redeemAccountInvite"]["id"], wang.as_str());
    assert_eq!(r["data"]["redeemAccountInvite"]["phone"], PHONE_WANG);
    assert_eq!(mine(&app, &me).await, wang.as_str());

    // Used: the address is no longer given out.
    let after = grpc
        .get_invite_delivery(ask(app.service_credential()))
        .await
        .expect_err("a used invite");
    assert_eq!(after.code(), tonic::Code::NotFound, "{after:?}");
    let r = app.graphql(Some(&staff), LINKS, json!({ "v": wang })).await;
    assert!(
        r["data"]["accountLinks"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .any(|e| e["node"]["action"] == "DELIVERY_LOOKED_UP"
                && e["node"]["actor"] == "service:orders"),
        "the lookup is audited: {r}"
    );

    // Single use: another account gets the one answer a wrong code gets.
    let other = app.citizen("wechat:someone-else");
    let again = app
        .graphql(Some(&other), REDEEM, json!({ "code": code }))
        .await;
    assert_eq!(error_code(&again), Some("BAD_USER_INPUT"), "{again}");
    let wrong = app
        .graphql(Some(&other), REDEEM, json!({ "code": "2345-6789-ABCD" }))
        .await;
    assert_eq!(error_code(&wrong), Some("BAD_USER_INPUT"), "{wrong}");
    assert_eq!(
        again["errors"][0]["message"], wrong["errors"][0]["message"],
        "used and wrong codes look alike"
    );
    // The record has its account: no new invite, the linked account cannot redeem again.
    let r = invite(&app, &staff, &wang).await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    assert_eq!(
        history(&app, &wang).await,
        pairs(&[
            ("INVITED", "STAFF"),
            ("DELIVERY_LOOKED_UP", ""),
            ("LINKED", "INVITE"),
            ("REDEEM_FAILED", ""),
        ])
    );
    app.stop().await;
}

#[tokio::test]
async fn a_code_expires_a_new_one_replaces_the_old_and_only_staff_in_scope_invite() {
    let app = TestApp::spawn().await;
    let wang = import_wang(&app).await;
    let staff = app.staff(units::HONGQIAO);

    // Staff of another institute, a citizen, and the volunteer herself cannot invite.
    for token in [app.staff(units::FENGGAO), app.citizen("wechat:x")] {
        let r = invite(&app, &token, &wang).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    }
    // Staff of the institute above may.
    let first = code_of(&invite(&app, &app.staff(units::CHANGYUAN), &wang).await);
    let second = code_of(&invite(&app, &staff, &wang).await);
    assert_ne!(first, second);

    let me = app.sign_volunteer("wechat:wangfang");
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": first }))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "replaced: {r}");

    // Past its 72 hours the second fails too.
    app.db
        .execute_unprepared("UPDATE account_invites SET expires_at = now() - interval '1 second'")
        .await
        .expect("expire");
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": second }))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "expired: {r}");
    assert!(mine(&app, &me).await.is_null());

    // Staff tokens do not link themselves.
    let third = code_of(&invite(&app, &staff, &wang).await);
    let r = app
        .graphql(Some(&staff), REDEEM, json!({ "code": third }))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": third }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    app.stop().await;
}

#[tokio::test]
async fn a_claim_with_the_id_number_and_phone_on_file_links_and_guessing_is_bounded() {
    let app = TestApp::spawn().await;
    let wang = import_wang(&app).await;

    // A wrong phone and an ID-card number nobody registered get the same answer.
    let guesser = app.citizen("wechat:guesser");
    let wrong_phone = app
        .graphql(
            Some(&guesser),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": "13800000009" }),
        )
        .await;
    assert_eq!(
        error_code(&wrong_phone),
        Some("BAD_USER_INPUT"),
        "{wrong_phone}"
    );
    let unknown = app
        .graphql(
            Some(&guesser),
            CLAIM,
            json!({ "id": id_card("50015319700101001"), "phone": PHONE_WANG }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("BAD_USER_INPUT"), "{unknown}");
    assert_eq!(
        wrong_phone["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
    // Five failures in a day: the account may not try again, not even with the right proof.
    for n in 2..=4 {
        let r = app
            .graphql(
                Some(&guesser),
                CLAIM,
                json!({ "id": id_card(ID_WANG), "phone": format!("1380000001{n}") }),
            )
            .await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    }
    let r = app
        .graphql(
            Some(&guesser),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": PHONE_WANG }),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "limited: {r}");
    assert!(mine(&app, &guesser).await.is_null());

    // Wang herself, with her own account and the right proof (typed as people type it).
    let me = app.citizen("wechat:wangfang");
    let r = app
        .graphql(
            Some(&me),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": "+86 138 0000 0001" }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(mine(&app, &me).await, wang.as_str());

    // One record, one account: a second proof of the same record is a CONFLICT.
    let r = app
        .graphql(
            Some(&app.citizen("wechat:twin")),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": PHONE_WANG }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let h = history(&app, &wang).await;
    assert_eq!(h.iter().filter(|(a, _)| a == "CLAIM_FAILED").count(), 4);
    assert_eq!(h.last(), Some(&("LINKED".to_owned(), "CLAIM".to_owned())));
    app.stop().await;
}

#[tokio::test]
async fn staff_in_scope_unlink_at_once_and_every_step_is_audited() {
    let app = TestApp::spawn().await;
    let mut unlinked = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.account_unlinked")
        .await
        .expect("subscribe");
    let wang = import_wang(&app).await;
    let staff = app.staff(units::HONGQIAO);
    let me = app.sign_volunteer("wechat:wangfang");
    let code = code_of(&invite(&app, &staff, &wang).await);
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": code }))
        .await;
    assert!(r["errors"].is_null(), "{r}");

    // Not staff of another unit, not the volunteer.
    for token in [app.staff(units::FENGGAO), me.clone()] {
        let r = app
            .graphql(Some(&token), UNLINK, json!({ "v": wang }))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let r = app.graphql(Some(&token), LINKS, json!({ "v": wang })).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    }
    let r = app
        .graphql(Some(&staff), UNLINK, json!({ "v": wang }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(mine(&app, &me).await.is_null(), "unlinked at once");
    let r = app
        .graphql(Some(&staff), UNLINK, json!({ "v": wang }))
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");

    let message = tokio::time::timeout(Duration::from_secs(10), unlinked.next())
        .await
        .expect("in time")
        .expect("event");
    let event =
        tongxin_proto::events::AccountUnlinked::decode(message.payload.clone()).expect("protobuf");
    assert_eq!(event.volunteer_id, wang);
    assert!(!String::from_utf8_lossy(&message.payload).contains("wechat:wangfang"));

    // The record can be linked again, and the history has every step with who and how.
    let r = app
        .graphql(
            Some(&me),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": PHONE_WANG }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(
        history(&app, &wang).await,
        pairs(&[
            ("INVITED", "STAFF"),
            ("LINKED", "INVITE"),
            ("UNLINKED", "STAFF"),
            ("LINKED", "CLAIM"),
        ])
    );
    let r = app.graphql(Some(&staff), LINKS, json!({ "v": wang })).await;
    let nodes = &r["data"]["accountLinks"]["edges"];
    assert_eq!(nodes[2]["node"]["account"], "wechat:wangfang");
    assert_eq!(
        nodes[2]["node"]["actor"],
        format!("staff-{}", units::HONGQIAO)
    );
    assert_eq!(nodes[0]["node"]["account"], Value::Null);

    // Erasure on request cuts the link too, and says so without repeating the account.
    let r = app
        .graphql(Some(&me), "mutation { requestDeletion { id } }", json!({}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app
        .graphql(
            Some(&staff),
            "mutation($id: ID!) { processDeletion(id: $id) { id } }",
            json!({ "id": wang }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(mine(&app, &me).await.is_null());
    let r = app.graphql(Some(&staff), LINKS, json!({ "v": wang })).await;
    let last = &r["data"]["accountLinks"]["edges"][4]["node"];
    assert_eq!(last["action"], "UNLINKED", "{r}");
    assert_eq!(last["account"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn self_registration_with_an_id_number_on_file_points_to_claiming_it() {
    let app = TestApp::spawn().await;
    let wang = import_wang(&app).await;
    let me = app.citizen("wechat:wangfang");
    let r = app
        .graphql(
            Some(&me),
            REGISTER,
            json!({ "input": input(&id_card(ID_WANG), PHONE_WANG, units::HONGQIAO) }),
        )
        .await;
    assert_eq!(error_code(&r), Some("CONFLICT"), "{r}");
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("claimVolunteerRecord"), "{message}");

    // A person who registers themself is linked at once, and the audit says how.
    let other = app.citizen("wechat:lisi");
    let r = app
        .graphql(
            Some(&other),
            REGISTER,
            json!({ "input": input(&id_card("50015319900307123"), "13812345678", units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let lisi = r["data"]["registerVolunteer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        history(&app, &lisi).await,
        pairs(&[("LINKED", "SELF_REGISTRATION")])
    );
    assert!(history(&app, &wang).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn guesses_spread_over_accounts_close_claims_on_the_record_but_not_invites() {
    let app = TestApp::spawn().await;
    let wang = import_wang(&app).await;
    // Two accounts, five wrong phones each: ten failed claims on the record in a day.
    for guesser in ["wechat:g1", "wechat:g2"] {
        let token = app.citizen(guesser);
        for n in 2..=6 {
            let r = app
                .graphql(
                    Some(&token),
                    CLAIM,
                    json!({ "id": id_card(ID_WANG), "phone": format!("1390000000{n}") }),
                )
                .await;
            assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
        }
    }
    // Now even the right proof gets the one generic answer…
    let me = app.citizen("wechat:wangfang");
    let r = app
        .graphql(
            Some(&me),
            CLAIM,
            json!({ "id": id_card(ID_WANG), "phone": PHONE_WANG }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(mine(&app, &me).await.is_null());
    // …while an invite from her unit's staff still links her.
    let code = code_of(&invite(&app, &app.staff(units::HONGQIAO), &wang).await);
    let r = app
        .graphql(Some(&me), REDEEM, json!({ "code": code }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(mine(&app, &me).await, wang.as_str());
    app.stop().await;
}
