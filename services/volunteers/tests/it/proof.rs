//! The printable service-record proof: content, escaping, verification code and scope.

use reqwest::StatusCode;
use serde_json::json;

use crate::ledger::{DECLINE, RECORD, credit, hours, register};
use crate::{TestApp, units};

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
    assert_eq!(code.len(), 24, "{code}");

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
