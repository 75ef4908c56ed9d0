//! Issue 13, item 2: a volunteer imported from the district's spreadsheet has no account, so
//! nobody could accept an order as them. Staff invite them, a fresh account redeems the code,
//! and that account accepts the order it was dispatched. Once staff unlink it, the account
//! can no longer act, although orders had its link cached.

use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_volunteers::import::{ImportOptions, Quiet, read_file};
use uuid::Uuid;

use std::time::Duration;

use crate::{ACCEPT, CAIJIABA_POINT, DISPATCH, ORDER, RECEIVE, START, TestApp, error_code, paths};

fn state(r: &Value, field: &str) -> String {
    r["data"][field]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: {r}"))
        .to_owned()
}

/// Imports one volunteer of 蔡家坝 as `tongxin import volunteers` does; their id.
async fn import_one(app: &TestApp) -> Uuid {
    let csv = format!(
        "姓名,身份证号,手机号,所属单位,技能,服务时间,纬度,经度\n\
         王芳,{},13800000001,{},elder_care,Mon-Sun 00:00-24:00,{},{}\n",
        tongxin_volunteers::demo::with_check_character("50015319880512002"),
        paths::CAIJIABA,
        CAIJIABA_POINT.0,
        CAIJIABA_POINT.1,
    );
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
    let staff = app.staff_principal(paths::CAIJIABA);
    let caller = app.volunteers.caller(Some(&staff)).await.expect("caller");
    let (page, _) = app
        .volunteers
        .list(&caller, Some(paths::CAIJIABA), None, None, None, Some(10))
        .await
        .expect("list");
    page[0].id().0
}

#[tokio::test]
async fn an_imported_volunteer_invited_and_linked_accepts_an_order() {
    let app = TestApp::spawn().await;
    let volunteer = import_one(&app).await;
    let staff = app.staff(paths::CAIJIABA);
    let id = app.place_ok("alice", "elder_visit", "linking").await;
    assert_eq!(
        state(
            &app.act(&staff, RECEIVE, &id, json!({})).await,
            "receiveOrder"
        ),
        "RECEIVED"
    );
    let r = app
        .act(
            &staff,
            DISPATCH,
            &id,
            json!({"volunteers": [volunteer.to_string()]}),
        )
        .await;
    assert_eq!(state(&r, "dispatchOrder"), "DISPATCHED");

    // The person signs in with a fresh account: not linked, they cannot accept.
    let account = format!("wechat:{}", Uuid::now_v7().simple());
    let token = app.volunteer_account(&account);
    let r = app.act(&token, ACCEPT, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "unlinked: {r}");

    // Staff of the courtyard invite; the account redeems the code.
    let invite = app
        .volunteers
        .invite_account(
            &app.staff_principal(paths::CAIJIABA),
            tongxin_volunteers::domain::VolunteerId(volunteer),
        )
        .await
        .expect("invite");
    let person = Principal {
        subject: account.clone(),
        roles: vec![Role::Volunteer],
        unit: None,
        district: Some("rc".into()),
        credential: None,
    };
    let linked = app
        .volunteers
        .redeem_invite(&person, &invite.code.to_string())
        .await
        .expect("redeem");
    assert_eq!(linked.id().0, volunteer);

    let r = app.act(&token, ACCEPT, &id, json!({})).await;
    assert_eq!(state(&r, "acceptOrder"), "ACCEPTED", "{r}");
    assert_eq!(
        r["data"]["acceptOrder"]["acceptedVolunteers"],
        json!([{"id": volunteer.to_string()}])
    );

    // Staff unlink the account: orders forgets its cached link (on the unlink event) and
    // the account no longer sees the order, nor moves it.
    app.volunteers
        .unlink_account(
            &app.staff_principal(paths::CAIJIABA),
            tongxin_volunteers::domain::VolunteerId(volunteer),
        )
        .await
        .expect("unlink");
    let forgotten = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = app.act(&token, ORDER, &id, json!({})).await;
            if error_code(&r) == Some("NOT_FOUND") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        forgotten.is_ok(),
        "orders still acts on the unlinked account"
    );
    let r = app.act(&token, START, &id, json!({})).await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    assert_eq!(
        state(&app.act(&staff, ORDER, &id, json!({})).await, "order"),
        "ACCEPTED"
    );
}
