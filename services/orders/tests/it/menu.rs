//! Who owns the service menu (issue 13, item 10): each category is on one district's menu and
//! only that district's center staff change it; an admin token without a district, staff of
//! another district and staff below the center are FORBIDDEN, and nothing is written.

use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_venues::demo;
use uuid::Uuid;

use crate::{TestApp, error_code, paths};

const CREATE: &str =
    "mutation($input: ServiceCategoryInput!) { createCategory(input: $input) { code name } }";
const UPDATE: &str =
    "mutation($input: ServiceCategoryInput!) { updateCategory(input: $input) { code name } }";

fn category(code: &str, name: &str) -> Value {
    json!({"input": {"code": code, "name": name, "group": "health", "defaultLevel": "STATION"}})
}

async fn name_of(app: &TestApp, code: &str) -> Option<String> {
    app.orders
        .category(code)
        .await
        .expect("read")
        .map(|c| c.name)
}

#[tokio::test]
async fn only_the_districts_center_staff_change_its_menu() {
    let app = TestApp::spawn().await;
    let rc_center = app.staff(paths::CENTER);
    // Another district's center, known to orders.
    let xx_center = Uuid::now_v7();
    app.orders
        .remember_unit(xx_center, "/xx", tongxin_orders::domain::Level::Center)
        .await
        .expect("unit");
    let xx_staff = app
        .spawned
        .sign("staff-xx", &[Role::Staff], Some(xx_center), Some("xx"));
    let admin_without_district = app.spawned.sign("root", &[Role::Admin], None, None);
    let rc_admin = app
        .spawned
        .sign("rc-admin", &[Role::Admin], None, Some("rc"));
    let station = app.staff(paths::HONGQIAO);
    // A center scope with a token of another district.
    let mixed = app.spawned.sign(
        "mixed",
        &[Role::Staff],
        Some(demo::unit_id(paths::CENTER).0),
        Some("xx"),
    );

    let made = app
        .graphql(Some(&rc_center), CREATE, category("tea_talk", "茶话会"))
        .await;
    assert_eq!(made["data"]["createCategory"]["code"], "tea_talk", "{made}");
    let made = app
        .graphql(Some(&xx_staff), CREATE, category("xx_visit", "走访"))
        .await;
    assert_eq!(made["data"]["createCategory"]["code"], "xx_visit", "{made}");

    for (who, token) in [
        ("an admin without a district", &admin_without_district),
        ("an admin of the district", &rc_admin),
        ("staff of another district", &xx_staff),
        ("station staff", &station),
        ("a center scope with another district's token", &mixed),
    ] {
        // The seeded menu and a category made by the district's center.
        for code in ["elder_visit", "tea_talk"] {
            let r = app
                .graphql(Some(token), UPDATE, category(code, "改名"))
                .await;
            assert_eq!(
                error_code(&r),
                Some("FORBIDDEN"),
                "{who} updating {code}: {r}"
            );
            assert_ne!(name_of(&app, code).await.as_deref(), Some("改名"), "{who}");
        }
    }
    for token in [&admin_without_district, &station] {
        let r = app
            .graphql(Some(token), CREATE, category("sneaky", "x"))
            .await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    }
    assert_eq!(name_of(&app, "sneaky").await, None);
    // Each district's center changes its own category, not the other's.
    let r = app
        .graphql(Some(&rc_center), UPDATE, category("xx_visit", "改名"))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    for (token, code) in [(&rc_center, "elder_visit"), (&xx_staff, "xx_visit")] {
        let r = app
            .graphql(Some(token), UPDATE, category(code, "新名"))
            .await;
        assert_eq!(r["data"]["updateCategory"]["name"], "新名", "{code}: {r}");
    }
    app.stop().await;
}
