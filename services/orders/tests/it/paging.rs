//! One page-size rule for every list of the subgraph (the platform's `page_size`).

use serde_json::json;

use crate::TestApp;

/// One page-size rule for every list of the subgraph: a page above the field's limit is
/// BAD_USER_INPUT naming the argument and the limit (never silently cut); at the limit the
/// size is accepted.
#[tokio::test]
async fn every_list_refuses_a_page_above_its_limit_naming_it() {
    let app = TestApp::spawn().await;
    let citizen = app.citizen("c-pages");
    let staff = app.staff(crate::paths::CHANGYUAN);
    let order = app.place_ok("c-pages", "elder_visit", "pages-1").await;
    let unit = tongxin_venues::demo::unit_id(crate::paths::CHANGYUAN).to_string();
    // (token, query, argument, limit, whether the page at the limit is served as is; the
    // candidates of an order not yet received are refused for its state, not its size)
    let lists = [
        (
            &citizen,
            "query($n: Int) { myOrders(first: $n) { nodes { id } } }",
            "first",
            500,
            true,
        ),
        (
            &staff,
            "query($n: Int, $u: ID!) { unitOrders(unitId: $u, first: $n) { nodes { id } } }",
            "first",
            500,
            true,
        ),
        (
            &citizen,
            "query($n: Int, $o: ID!) { orderTimeline(orderId: $o, first: $n) { nodes { event } } }",
            "first",
            500,
            true,
        ),
        (
            &citizen,
            "query($n: Int) { categories(first: $n) { nodes { code } } }",
            "first",
            500,
            true,
        ),
        (
            &staff,
            r#"query($n: Int) { rankings(level: COURTYARD, quarter: "2026Q4", first: $n) { nodes { rank } } }"#,
            "first",
            500,
            true,
        ),
        (
            &staff,
            r#"query($n: Int) { volunteerRankings(quarter: "2026Q4", first: $n) { nodes { rank } } }"#,
            "first",
            500,
            true,
        ),
        (
            &staff,
            "query($n: Int!, $o: ID!) { suggestCandidates(orderId: $o, count: $n) { nodes { score } } }",
            "count",
            100,
            false,
        ),
    ];
    for (token, query, argument, limit, served) in lists {
        let vars = |n: u32| json!({"n": n, "u": unit, "o": order});
        let over = app
            .graphql(Some(token.as_str()), query, vars(limit + 1))
            .await;
        assert_eq!(
            crate::error_code(&over),
            Some("BAD_USER_INPUT"),
            "{query}: {over}"
        );
        let message = over["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{argument}: at most {limit} per page")),
            "{query}: {message}"
        );
        let at = app.graphql(Some(token.as_str()), query, vars(limit)).await;
        if served {
            assert!(at["errors"].is_null(), "{query}: {at}");
        } else {
            let message = at["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(!message.contains("per page"), "{query}: {at}");
        }
    }
    app.stop().await;
}
