//! What a router's `_entities` call costs: N order references must cost as many database
//! statements, and as many calls to volunteers, for N = 100 as for N = 1. Counted where
//! it cannot be missed: every statement that reaches orders' and volunteers' databases
//! (the proxies in front of them log each one), whatever code path sent it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tongxin_testing::dbproxy::DbProxy;

use crate::TestApp;

const ENTITIES: &str =
    r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id state } } }"#;

/// Statements that are not the request's: the outbox relay's polls (every 50 ms) and
/// transaction brackets.
fn the_requests(sql: &str) -> bool {
    !sql.contains("outbox") && !matches!(sql.trim(), "BEGIN" | "COMMIT" | "ROLLBACK")
}

/// Waits until nothing but relay polls has reached `proxy` for 300 ms (the events of the
/// orders placed before are consumed), so a measurement sees only its own request.
async fn quiet(proxy: &DbProxy) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = proxy.statements().len();
    let mut still_since = Instant::now();
    while still_since.elapsed() < Duration::from_millis(300) {
        assert!(Instant::now() < deadline, "the database never went quiet");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = proxy.statements();
        if now[seen..].iter().any(|s| the_requests(s)) {
            still_since = Instant::now();
        }
        seen = now.len();
    }
}

/// The `_entities` answer for `ids` as `token`, and the statements it cost at each proxy.
async fn resolve(
    app: &TestApp,
    token: &str,
    ids: &[String],
) -> (Value, Vec<Arc<str>>, Vec<Arc<str>>) {
    let (orders, volunteers) = (app.proxy("orders"), app.proxy("volunteers"));
    quiet(orders).await;
    quiet(volunteers).await;
    let (o, v) = (orders.statements().len(), volunteers.statements().len());
    let representations: Vec<Value> = ids
        .iter()
        .map(|id| json!({"__typename": "Order", "id": id}))
        .collect();
    let r = app
        .graphql(Some(token), ENTITIES, json!({"r": representations}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let own = |all: Vec<Arc<str>>, from: usize| -> Vec<Arc<str>> {
        all[from..]
            .iter()
            .filter(|s| the_requests(s))
            .cloned()
            .collect()
    };
    (
        r,
        own(orders.statements(), o),
        own(volunteers.statements(), v),
    )
}

#[tokio::test]
async fn a_hundred_order_references_cost_what_one_costs() {
    let app = TestApp::spawn_behind_proxies().await;
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(
            app.place_ok("c-batch", "elder_visit", &format!("batch-{n}"))
                .await,
        );
    }

    // Staff: the caller's scope is a read of the unit table, the orders one batched read.
    let staff = app.staff(crate::paths::CHANGYUAN);
    let (one, one_orders, _) = resolve(&app, &staff, &ids[..1]).await;
    let (all, all_orders, _) = resolve(&app, &staff, &ids).await;
    assert_eq!(one["data"]["_entities"][0]["id"], ids[0].as_str());
    let got: Vec<&str> = all["data"]["_entities"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_else(|| panic!("{o}")))
        .collect();
    assert_eq!(got, ids, "every reference resolved, in order");
    assert!(
        !one_orders.is_empty() && one_orders.len() <= 2,
        "one reference: the scope and the order, {one_orders:#?}"
    );
    assert_eq!(
        all_orders.len(),
        one_orders.len(),
        "a hundred references cost what one costs at orders' database: {all_orders:#?}"
    );

    // A volunteer account with no record: who it is comes from volunteers (one gRPC call,
    // one read there) however many references the request carries; it sees none of them.
    let stranger = app.volunteer_account("account-without-record");
    let (one, one_orders, one_volunteers) = resolve(&app, &stranger, &ids[..1]).await;
    let (all, all_orders, all_volunteers) = resolve(&app, &stranger, &ids).await;
    assert_eq!(one["data"]["_entities"], json!([null]), "{one}");
    assert_eq!(all["data"]["_entities"].as_array().map(Vec::len), Some(100));
    assert!(
        !one_volunteers.is_empty(),
        "the account was looked up at volunteers"
    );
    assert_eq!(
        all_volunteers.len(),
        one_volunteers.len(),
        "a hundred references cost one call to volunteers: {all_volunteers:#?}"
    );
    assert_eq!(
        all_orders.len(),
        one_orders.len(),
        "and what one costs at orders' database: {all_orders:#?}"
    );
    app.stop().await;
}
