//! The printable service-record proof: content, escaping, verification code and scope;
//! the register of issued proofs and their public check by code.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::ledger::{DECLINE, RECORD, credit, hours, register};
use crate::{TestApp, error_code, units};

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", app.http));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("send");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_proof_lists_approved_service_escaped_with_a_code_for_those_in_scope() {
    let app = TestApp::spawn().await;
    let me = app.citizen("wechat:wangwu");
    let v = register(&app, Some(&me), 401, units::HONGQIAO).await;
    let staff = app.staff(units::CHANGYUAN);

    credit(&app, &staff, &v, 2.5, "2026-10-05").await;
    let hostile = json!({ "input": {
        "volunteerId": v, "hours": 1.0, "serviceDate": "2026-10-06",
        "place": "<script>alert(1)</script>", "content": "讲解 & 演示 \"法律\""
    }});
    let r = app.graphql(Some(&staff), RECORD, hostile).await;
    let id = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.graphql(Some(&staff), crate::ledger::APPROVE, json!({ "id": id }))
        .await;
    // Declined, pending and out-of-period entries are not on the proof.
    let r = app
        .graphql(Some(&staff), RECORD, hours(&v, 3.0, "2026-10-07"))
        .await;
    let declined = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.graphql(
        Some(&staff),
        DECLINE,
        json!({ "id": declined, "reason": "duplicate" }),
    )
    .await;
    let mut pending = hours(&v, 1.0, "2026-10-08");
    pending["input"]["content"] = json!("待审核内容");
    app.graphql(Some(&staff), RECORD, pending).await;
    let mut outside = hours(&v, 7.0, "2026-06-01");
    outside["input"]["content"] = json!("期外内容");
    let r = app.graphql(Some(&staff), RECORD, outside).await;
    let out_id = r["data"]["recordHours"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.graphql(
        Some(&staff),
        crate::ledger::APPROVE,
        json!({ "id": out_id }),
    )
    .await;

    let url = app
        .graphql(
            Some(&me),
            r#"query($id: ID!) { volunteer(id: $id) { volunteerNo recordProofUrl(from: "2026-10-01", to: "2026-12-31") } }"#,
            json!({ "id": v }),
        )
        .await;
    let path = url["data"]["volunteer"]["recordProofUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    assert_eq!(
        path,
        format!("/volunteers/{v}/record?from=2026-10-01&to=2026-12-31")
    );
    let number = url["data"]["volunteer"]["volunteerNo"]
        .as_str()
        .expect("no")
        .to_owned();

    let (status, page) = get(&app, &path, Some(&me)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("张三") && page.contains(&number));
    assert!(page.contains("2026-10-05") && page.contains("2.5"));
    assert!(page.contains("3.5 小时"), "period hours");
    assert!(page.contains("10.5 小时"), "all approved hours");
    assert!(page.contains(&format!(
        "出具单位 Issuing unit: <strong>{}</strong>",
        units::HONGQIAO
    )));
    assert!(page.contains("@media print"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!page.contains("<script>"), "no injected markup");
    assert!(page.contains("讲解 &amp; 演示 &quot;法律&quot;"));
    assert!(
        !page.contains("待审核内容") && !page.contains("期外内容") && !page.contains("2026-10-07")
    );
    let code = page
        .split("class=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a verification code")
        .to_owned();
    assert_eq!(code.len(), 14, "{code}");

    // Same content, same code, for staff in scope too; another period, another code.
    let (status, again) = get(&app, &path, Some(&staff)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(again.contains(&code));
    let (_, other) = get(
        &app,
        &format!("/volunteers/{v}/record?from=2026-01-01&to=2026-12-31"),
        Some(&me),
    )
    .await;
    assert!(other.contains("期外内容") && !other.contains(&code));

    // Scope and input.
    assert_eq!(get(&app, &path, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&app, &path, Some("not-a-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, &path, Some(&app.citizen("wechat:other"))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, &path, Some(&app.staff(units::FENGGAO))).await.0,
        StatusCode::FORBIDDEN
    );
    let reversed = format!("/volunteers/{v}/record?from=2026-12-31&to=2026-01-01");
    assert_eq!(
        get(&app, &reversed, Some(&me)).await.0,
        StatusCode::BAD_REQUEST
    );
    let missing = format!("/volunteers/{v}/record?from=2026-01-01");
    assert_eq!(
        get(&app, &missing, Some(&me)).await.0,
        StatusCode::BAD_REQUEST
    );
    let nobody = format!(
        "/volunteers/{}/record?from=2026-01-01&to=2026-02-01",
        uuid::Uuid::now_v7()
    );
    assert_eq!(
        get(&app, &nobody, Some(&staff)).await.0,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

/// The public code printed on a proof page.
fn printed_code(page: &str) -> String {
    page.split("class=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a verification code")
        .to_owned()
}

/// The rows of the register of issued proofs, oldest first, as JSON objects.
async fn register_rows(app: &TestApp) -> Vec<Value> {
    app.db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT row_to_json(p)::text AS j FROM issued_proofs p ORDER BY id",
        ))
        .await
        .expect("query")
        .iter()
        .map(|r| {
            let text: String = r.try_get("", "j").expect("j");
            serde_json::from_str(&text).expect("json")
        })
        .collect()
}

const VERIFY: &str = r#"query($code: String!) { verifyServiceRecord(code: $code) {
  volunteerNo nameMasked periodFrom periodTo hours starLevel issuingUnitPath issuingUnitName issuedOn
} }"#;

async fn verify(app: &TestApp, code: &str) -> Value {
    app.graphql(None, VERIFY, json!({ "code": code })).await
}

#[tokio::test]
async fn an_issued_proof_is_registered_and_verifies_by_its_code_as_issued() {
    let app = TestApp::spawn().await;
    app.volunteers
        .remember_unit(units::id("/rc"), "/rc")
        .await
        .expect("district unit");
    app.volunteers
        .remember_unit_details(
            units::id(units::HONGQIAO),
            units::HONGQIAO,
            "虹桥社区实践站",
            (29.40, 105.59),
        )
        .await
        .expect("unit name");
    let center = app.staff("/rc");
    let r = app
        .graphql(
            Some(&center),
            r#"mutation { setStarThresholds(district: "rc", thresholds: [3.0, 10.0]) { starThresholds } }"#,
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    let me = app.citizen("wechat:zhaoliu");
    let v = register(&app, Some(&me), 411, units::HONGQIAO).await;
    let staff = app.staff(units::CHANGYUAN);
    credit(&app, &staff, &v, 2.5, "2026-10-05").await;
    credit(&app, &staff, &v, 1.0, "2026-10-06").await;
    let number = app
        .graphql(
            None,
            "query($id: ID!) { volunteer(id: $id) { volunteerNo } }",
            json!({ "id": v }),
        )
        .await["data"]["volunteer"]["volunteerNo"]
        .as_str()
        .expect("no")
        .to_owned();

    // Issuing stores one row; the page shows its code.
    assert!(register_rows(&app).await.is_empty());
    let path = format!("/volunteers/{v}/record?from=2026-10-01&to=2026-10-31");
    let (status, page) = get(&app, &path, Some(&me)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let code = printed_code(&page);
    assert!(page.contains("verifyServiceRecord"));
    let rows = register_rows(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["code"], code.replace('-', ""));
    assert_eq!(row["volunteer_id"], v.as_str());
    assert_eq!(row["volunteer_no"], number.as_str());
    assert_eq!(row["period_from"], "2026-10-01");
    assert_eq!(row["period_to"], "2026-10-31");
    assert_eq!(row["period_quarters"], 14);
    assert_eq!(row["star_level"], 1);
    assert_eq!(row["issuing_unit_path"], units::HONGQIAO);
    assert_eq!(row["issued_by"], "wechat:zhaoliu");
    assert!(
        !row.to_string().contains("张"),
        "no name in the register: {row}"
    );
    let issued_on = row["issued_on"].as_str().expect("date").to_owned();
    assert!(page.contains(&format!("出具日期 Date of issue: {issued_on}")));

    // The same page again the same day keeps its code and row (for staff too).
    let (_, again) = get(&app, &path, Some(&me)).await;
    assert_eq!(printed_code(&again), code);
    let (_, by_staff) = get(&app, &path, Some(&staff)).await;
    assert_eq!(printed_code(&by_staff), code);
    assert_eq!(register_rows(&app).await.len(), 1);

    // Anyone checks the code, without a token; case, spaces and dashes do not matter.
    let expected = json!({
        "volunteerNo": number,
        "nameMasked": "张**",
        "periodFrom": "2026-10-01",
        "periodTo": "2026-10-31",
        "hours": 3.5,
        "starLevel": 1,
        "issuingUnitPath": units::HONGQIAO,
        "issuingUnitName": "虹桥社区实践站",
        "issuedOn": issued_on,
    });
    let r = verify(&app, &code).await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(r["data"]["verifyServiceRecord"], expected, "{r}");
    let typed = code.to_lowercase().replace('-', " ");
    assert_eq!(
        verify(&app, &typed).await["data"]["verifyServiceRecord"],
        expected
    );

    // More hours approved later (in the period, and a second star) change nothing about
    // the issued proof; a page issued now is a new row with its own code.
    credit(&app, &staff, &v, 7.0, "2026-10-07").await;
    let r = verify(&app, &code).await;
    assert_eq!(r["data"]["verifyServiceRecord"], expected, "{r}");
    let (_, newer) = get(&app, &path, Some(&me)).await;
    let newer_code = printed_code(&newer);
    assert_ne!(newer_code, code);
    assert_eq!(register_rows(&app).await.len(), 2);
    let r = verify(&app, &newer_code).await;
    assert_eq!(r["data"]["verifyServiceRecord"]["hours"], 10.5, "{r}");
    assert_eq!(r["data"]["verifyServiceRecord"]["starLevel"], 2, "{r}");

    // A refused page registers nothing.
    let outsider = app.staff(units::FENGGAO);
    assert_eq!(
        get(&app, &path, Some(&outsider)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(register_rows(&app).await.len(), 2);

    // Once the volunteer's personal data is erased on request, not even the first
    // character of the name is shown; the rest of the proof stands.
    let r = app
        .graphql(Some(&me), "mutation { requestDeletion { id } }", json!({}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app
        .graphql(
            Some(&staff),
            "mutation($id: ID!) { processDeletion(id: $id) { erased } }",
            json!({ "id": v }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = verify(&app, &code).await;
    assert_eq!(
        r["data"]["verifyServiceRecord"]["nameMasked"], "（已删除）",
        "{r}"
    );
    assert_eq!(r["data"]["verifyServiceRecord"]["hours"], 3.5, "{r}");
    app.stop().await;
}

#[tokio::test]
async fn unknown_codes_are_null_and_malformed_ones_bad_input() {
    let app = TestApp::spawn().await;
    // Well-formed, never issued: null, no error, no hint.
    let r = verify(&app, "7KQ4-M2ZX-9HTP").await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(r["data"]["verifyServiceRecord"].is_null(), "{r}");
    assert_eq!(r["data"].as_object().map(|o| o.len()), Some(1));
    for bad in [
        "",
        "7KQ4",
        "7KQ4-M2ZX-9HTPA",
        "0KQ4-M2ZX-9HTP",
        "IKQ4-M2ZX-9HTP",
        "7KQ4_M2ZX_9HTP",
        "' OR 1=1 --",
    ] {
        let r = verify(&app, bad).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad}: {r}");
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .expect("message")
                .starts_with("code:"),
            "{r}"
        );
    }
    app.stop().await;
}
